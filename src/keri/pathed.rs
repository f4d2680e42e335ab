//! Pathed material (`-L` groups): the attachments of messages embedded in an `exn`, each group
//! opening with a SAD path (`-e-icp`: the `icp` field of the embeds) written as a Pather.
//!
//! `split` reads one group's text (as `stream` keeps it, counter included) into its path and
//! the attachment text that follows; nothing here checks a signature.

use super::cesr::code::counter;

/// The path (`-e-icp`) and attachment text of one pathed group, or `None` when malformed.
pub fn split(group: &str) -> Option<(String, String)> {
    let body = if let Some(rest) = group.strip_prefix(counter::BIG_PATHED_MATERIAL) {
        rest.get(5..)?
    } else {
        group.strip_prefix(counter::PATHED_MATERIAL)?.get(2..)?
    };
    // A Pather is a variable-size Base64 string: a small code (`4A`/`5A`/`6A`, two size
    // digits) or a big one (`7AAA`/`8AAA`/`9AAA`, four), the size counting quadlets.
    let (head, digits) = match body.as_bytes().first()? {
        b'4'..=b'6' => (2, 2),
        b'7'..=b'9' => (4, 4),
        _ => return None,
    };
    let size = body
        .get(head..head + digits)?
        .bytes()
        .try_fold(0usize, |total, digit| {
            super::cesr::base64_value(digit).map(|value| total * 64 + value as usize)
        })?;
    let end = head + digits + size * 4;
    let path = body.get(head + digits..end)?.trim_start_matches('A');
    Some((path.to_owned(), body.get(end..)?.to_owned()))
}

/// The attachment text for the embedded field `field` (`icp`, `rot`, `ixn`, `rpy`) among
/// pathed `groups`.
pub fn for_field<'g>(groups: impl IntoIterator<Item = &'g String>, field: &str) -> Option<String> {
    let wanted = format!("-e-{field}");
    groups
        .into_iter()
        .filter_map(|group| split(group))
        .find(|(path, _)| *path == wanted)
        .map(|(_, attachment)| attachment)
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn a_group_splits_into_its_path_and_attachments() {
        let group = "-LAZ6AACAA-e-icp-AABAAsignature";
        let (path, attachment) = split(group).unwrap();
        assert_eq!(path, "-e-icp");
        assert_eq!(attachment, "-AABAAsignature");
        assert!(split("-AAB").is_none());
    }
}
