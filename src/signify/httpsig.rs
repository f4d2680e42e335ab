//! Signify's HTTP message signatures: the signature base, the `Signature-Input` and
//! `Signature` headers, and signing and verifying requests and responses with them.
//!
//! The signature base has one line per covered field (`"@method": GET`, `"@path": /x`,
//! `"<header>": <trimmed value>`) and a last `"@signature-params: (...);created=...;..."`
//! line. `Signature-Input` is an RFC 8941 dictionary whose `signify` member lists the covered
//! fields and the parameters; `Signature` carries the qb64 Ed25519 signature as the
//! `signify` marker of its first signage.
//!
//! `Signature-Input` is read with the sfv crate (RFC 8941 mode: no RFC 9651 dates or display
//! strings), which reads the Signify vectors exactly and writes them back byte for byte; our
//! own `to_header` writes the same bytes (a test compares them) without sfv's fallible
//! builders. `Signature` is read by hand, as Signify and KERIA read it, because it is not an
//! RFC 8941 dictionary in their sense: each signage is led by its own `indexed` item, so
//! `indexed="?0";signify="AA",indexed="?1";other="BB"` repeats the key `indexed`, and sfv
//! keeps only the last member (`indexed="?1";other="BB"`), losing the first signage and its
//! `signify` signature; and `indexed="?0";x` is a valid dictionary to sfv but a refused item
//! to Signify. sfv stays at 0.15: 0.16 needs Rust 1.95, above our `rust-version`.

use std::fmt;

use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::keri::datetime::format_datetime;
use crate::keri::primitives::{Cigar, Siger, Signer, Verfer};

/// The dictionary member Signify uses in `Signature-Input` and `Signature`.
pub const LABEL: &str = "signify";

/// Fields a signed request must cover.
pub const REQUIRED_FIELDS: [&str; 4] =
    ["@method", "@path", "signify-resource", "signify-timestamp"];

/// Fields the agency covers in its responses, in order.
pub const RESPONSE_FIELDS: [&str; 4] =
    ["signify-resource", "@method", "@path", "signify-timestamp"];

/// Fields Signify covers in its requests, in order.
pub const REQUEST_FIELDS: [&str; 4] = REQUIRED_FIELDS;

/// `indexed` values that mean a non-indexed signature.
const FALSY: [&str; 6] = ["?0", "0", "false", "False", "no", "off"];

/// Why a signature header was refused or did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSigError(String);

impl HttpSigError {
    fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

impl fmt::Display for HttpSigError {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::error::Error for HttpSigError {}

/// The parameters of a signature, written in the fixed order `created`, `expires`, `nonce`,
/// `keyid`, `context`, `alg`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureParams {
    /// Unix seconds when the signature was made.
    pub created: Option<i64>,
    /// Unix seconds after which it is stale.
    pub expires: Option<i64>,
    /// A nonce.
    pub nonce: Option<String>,
    /// The signer: a public key (requests) or an AID (responses).
    pub keyid: Option<String>,
    /// An application context.
    pub context: Option<String>,
    /// The algorithm, `ed25519`.
    pub alg: Option<String>,
}

impl SignatureParams {
    /// `name=value` items in the fixed order; text values quoted as RFC 8941 strings when
    /// `quoted`, written bare otherwise.
    fn items(&self, quoted: bool) -> Vec<String> {
        let mut items = Vec::new();
        if let Some(created) = self.created {
            items.push(format!("created={created}"));
        }
        if let Some(expires) = self.expires {
            items.push(format!("expires={expires}"));
        }
        let texts = [
            ("nonce", &self.nonce),
            ("keyid", &self.keyid),
            ("context", &self.context),
            ("alg", &self.alg),
        ];
        for (name, value) in texts {
            if let Some(value) = value {
                let value = if quoted { quote(value) } else { value.clone() };
                items.push(format!("{name}={value}"));
            }
        }
        items
    }
}

/// The signature base over `fields`: one line per field (headers found by `header`, absent
/// ones left out), then the `@signature-params` line naming the fields that were included.
pub fn signature_base<S: AsRef<str>>(
    fields: &[S],
    method: &str,
    path: &str,
    header: impl Fn(&str) -> Option<String>,
    params: &SignatureParams,
) -> String {
    let mut lines = Vec::new();
    let mut included = Vec::new();
    for field in fields {
        let field = field.as_ref();
        let value = match field {
            "@method" => method.to_owned(),
            "@path" => path.to_owned(),
            _ if field.starts_with('@') => continue,
            _ => match header(field) {
                Some(value) => value.trim().to_owned(),
                None => continue,
            },
        };
        lines.push(format!("\"{field}\": {value}"));
        included.push(field);
    }
    let mut signature_params = vec![format!("({})", included.join(" "))];
    signature_params.extend(params.items(false));
    lines.push(format!(
        "\"@signature-params: {}\"",
        signature_params.join(";")
    ));
    lines.join("\n")
}

/// The `signify` member of a `Signature-Input` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureInput {
    /// The covered fields, in order.
    pub fields: Vec<String>,
    /// The signature parameters.
    pub params: SignatureParams,
}

impl SignatureInput {
    /// Reads the `signify` member of an RFC 8941 dictionary; other members are ignored, and of
    /// two `signify` members the last wins.
    pub fn parse(header: &str) -> Result<Self, HttpSigError> {
        let dictionary: sfv::Dictionary = sfv::Parser::new(header.trim_matches([' ', '\t']))
            .with_version(sfv::Version::Rfc8941)
            .parse()
            .map_err(|err| HttpSigError::new(format!("malformed Signature-Input: {err}")))?;
        let Some(member) = dictionary.get(LABEL) else {
            return Err(HttpSigError::new("Signature-Input has no signify member"));
        };
        let sfv::ListEntry::InnerList(inner_list) = member else {
            return Err(HttpSigError::new(
                "Signature-Input signify member must be an inner list",
            ));
        };
        let fields = inner_list
            .items
            .iter()
            .map(|item| match &item.bare_item {
                sfv::BareItem::String(text) => Ok(text.as_str().to_owned()),
                _ => Err(HttpSigError::new(
                    "Signature-Input field names must be strings",
                )),
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut params = SignatureParams::default();
        for (name, value) in &inner_list.params {
            let name = name.as_str();
            let integer = |value: &sfv::BareItem| match value {
                sfv::BareItem::Integer(number) => Ok(Some(i64::from(*number))),
                _ => Err(HttpSigError::new(format!(
                    "Signature-Input parameter {name} must be an integer"
                ))),
            };
            let text = |value: &sfv::BareItem| match value {
                sfv::BareItem::String(text) => Ok(Some(text.as_str().to_owned())),
                sfv::BareItem::Token(token) => Ok(Some(token.as_str().to_owned())),
                _ => Err(HttpSigError::new(format!(
                    "Signature-Input parameter {name} must be a string"
                ))),
            };
            match name {
                "created" => params.created = integer(value)?,
                "expires" => params.expires = integer(value)?,
                "nonce" => params.nonce = text(value)?,
                "keyid" => params.keyid = text(value)?,
                "context" => params.context = text(value)?,
                "alg" => params.alg = text(value)?,
                _ => {}
            }
        }
        Ok(Self { fields, params })
    }

    /// The header value: `signify=("f1" "f2");created=...;keyid="...";alg="ed25519"`.
    pub fn to_header(&self) -> String {
        let fields: Vec<String> = self.fields.iter().map(|field| quote(field)).collect();
        let mut items = vec![format!("{LABEL}=({})", fields.join(" "))];
        items.extend(self.params.items(true));
        items.join(";")
    }

    /// The signature base of this input.
    pub fn base(
        &self,
        method: &str,
        path: &str,
        header: impl Fn(&str) -> Option<String>,
    ) -> String {
        signature_base(&self.fields, method, path, header, &self.params)
    }
}

impl fmt::Display for SignatureInput {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_header())
    }
}

/// An RFC 8941 string: quoted, with `"` and `\` escaped.
fn quote(text: &str) -> String {
    let mut quoted = String::with_capacity(text.len() + 2);
    quoted.push('"');
    for character in text.chars() {
        if matches!(character, '"' | '\\') {
            quoted.push('\\');
        }
        quoted.push(character);
    }
    quoted.push('"');
    quoted
}

/// One signage of a `Signature` header: whether its signatures are indexed, and its named
/// signatures in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signage {
    /// Whether the markers are indexed signatures.
    pub indexed: bool,
    /// Named qb64 signatures.
    pub markers: Vec<(String, String)>,
}

/// A `Signature` header: signages separated by `,`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The signages, in order.
    pub signages: Vec<Signage>,
}

impl Signature {
    /// A header with one non-indexed signature named `signify`.
    pub fn from_cigar(cigar: &Cigar) -> Self {
        Self {
            signages: vec![Signage {
                indexed: false,
                markers: vec![(LABEL.to_owned(), cigar.qb64())],
            }],
        }
    }

    /// Reads a header as Signify does: the first space removed, signages split on `,`, items
    /// on `;` and each at its first `=`, every `"` stripped; `indexed` is required.
    pub fn parse(header: &str) -> Result<Self, HttpSigError> {
        let header = header.replacen(' ', "", 1);
        if header.is_empty() {
            return Err(HttpSigError::new("Signature header is empty"));
        }
        let mut signages = Vec::new();
        for signage in header.split(',') {
            let mut indexed = None;
            let mut markers = Vec::new();
            for item in signage.split(';') {
                let Some((name, value)) = item.split_once('=') else {
                    return Err(HttpSigError::new(format!(
                        "Signature item {item:?} has no '='"
                    )));
                };
                let (name, value) = (name.replace('"', ""), value.replace('"', ""));
                if name == "indexed" {
                    indexed = Some(!FALSY.contains(&value.as_str()));
                } else {
                    markers.push((name, value));
                }
            }
            let Some(indexed) = indexed else {
                return Err(HttpSigError::new("Signature signage has no indexed item"));
            };
            signages.push(Signage { indexed, markers });
        }
        Ok(Self { signages })
    }

    /// The header value: `indexed="?0";signify="<qb64>"`.
    pub fn to_header(&self) -> String {
        let signages: Vec<String> = self
            .signages
            .iter()
            .map(|signage| {
                let mut items = vec![format!(
                    "indexed=\"{}\"",
                    if signage.indexed { "?1" } else { "?0" }
                )];
                items.extend(
                    signage
                        .markers
                        .iter()
                        .map(|(name, value)| format!("{name}=\"{value}\"")),
                );
                items.join(";")
            })
            .collect();
        signages.join(",")
    }

    /// The raw signature named `signify` in the first signage.
    pub fn signify_signature(&self) -> Result<[u8; 64], HttpSigError> {
        let Some(signage) = self.signages.first() else {
            return Err(HttpSigError::new("Signature header has no signage"));
        };
        let Some((_, qb64)) = signage.markers.iter().find(|(name, _)| name == LABEL) else {
            return Err(HttpSigError::new(
                "Signature header has no signify signature",
            ));
        };
        let raw = if signage.indexed {
            Siger::parse(qb64).map(|siger| *siger.raw())
        } else {
            Cigar::parse(qb64).map(|cigar| *cigar.raw())
        };
        raw.map_err(|err| HttpSigError::new(format!("Signature header: {err}")))
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_header())
    }
}

/// Signs `fields` of a message with a non-indexed signature; returns the `Signature-Input`
/// and `Signature` headers.
pub fn sign(
    signer: &Signer,
    keyid: &str,
    fields: &[&str],
    method: &str,
    path: &str,
    header: impl Fn(&str) -> Option<String>,
    created: i64,
) -> (SignatureInput, Signature) {
    let params = SignatureParams {
        created: Some(created),
        keyid: Some(keyid.to_owned()),
        alg: Some("ed25519".to_owned()),
        ..SignatureParams::default()
    };
    let included: Vec<String> = fields
        .iter()
        .filter(|field| {
            matches!(**field, "@method" | "@path")
                || (!field.starts_with('@') && header(field).is_some())
        })
        .map(|field| (*field).to_owned())
        .collect();
    let input = SignatureInput {
        fields: included,
        params,
    };
    let base = input.base(method, path, header);
    let signature = Signature::from_cigar(&signer.sign_cigar(base.as_bytes()));
    (input, signature)
}

/// The headers the agency adds to a response to a verified request, in order:
/// `Signify-Resource` (the agent AID), `Signify-Timestamp`, `Signature-Input`, `Signature`,
/// signed by the agent over the request's method and path.
pub fn response_headers(
    agent_aid: &str,
    agent_signer: &Signer,
    method: &str,
    path: &str,
    now: OffsetDateTime,
) -> [(&'static str, String); 4] {
    let timestamp = format_datetime(now);
    let header = |name: &str| match name {
        "signify-resource" => Some(agent_aid.to_owned()),
        "signify-timestamp" => Some(timestamp.clone()),
        _ => None,
    };
    let (input, signature) = sign(
        agent_signer,
        agent_aid,
        &RESPONSE_FIELDS,
        method,
        path,
        header,
        now.unix_timestamp(),
    );
    [
        ("Signify-Resource", agent_aid.to_owned()),
        ("Signify-Timestamp", timestamp.clone()),
        ("Signature-Input", input.to_header()),
        ("Signature", signature.to_header()),
    ]
}

/// The headers Signify adds to a request, in order: `Signify-Resource` (the controller AID),
/// `Signify-Timestamp` (millisecond precision), `Signature-Input`, `Signature`, signed by the
/// controller with its public key as `keyid`.
pub fn request_headers(
    controller_aid: &str,
    controller_signer: &Signer,
    method: &str,
    path: &str,
    now: OffsetDateTime,
) -> [(&'static str, String); 4] {
    let timestamp = signify_timestamp(now);
    let header = |name: &str| match name {
        "signify-resource" => Some(controller_aid.to_owned()),
        "signify-timestamp" => Some(timestamp.clone()),
        _ => None,
    };
    let keyid = controller_signer.verfer().qb64();
    let (input, signature) = sign(
        controller_signer,
        &keyid,
        &REQUEST_FIELDS,
        method,
        path,
        header,
        now.unix_timestamp(),
    );
    [
        ("Signify-Resource", controller_aid.to_owned()),
        ("Signify-Timestamp", timestamp.clone()),
        ("Signature-Input", input.to_header()),
        ("Signature", signature.to_header()),
    ]
}

/// A timestamp as Signify writes it: milliseconds followed by `000+00:00`.
pub fn signify_timestamp(now: OffsetDateTime) -> String {
    const SIGNIFY_MILLIS: &[BorrowedFormatItem<'_>] = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]000+00:00"
    );
    now.to_offset(UtcOffset::UTC)
        .format(SIGNIFY_MILLIS)
        .expect("every component of the format is in an OffsetDateTime")
}

/// Verifies a signed message: `Signature-Input` and `Signature` present, the `signify` input
/// covering `@method`, `@path`, `signify-resource` and `signify-timestamp` with a `created`
/// time, and the first signage's `signify` signature valid for `verfer` over the base rebuilt
/// from `method`, `path` (without query) and the headers found by `header` (by lower-case
/// name). Returns the input so the caller can check `created`.
pub fn verify_request(
    method: &str,
    path: &str,
    header: impl Fn(&str) -> Option<String>,
    verfer: &Verfer,
) -> Result<SignatureInput, HttpSigError> {
    let present = |name: &str| header(name).filter(|value| !value.trim().is_empty());
    let Some(input_header) = present("signature-input") else {
        return Err(HttpSigError::new("missing Signature-Input header"));
    };
    let Some(signature_header) = present("signature") else {
        return Err(HttpSigError::new("missing Signature header"));
    };
    let input = SignatureInput::parse(&input_header)?;
    if !REQUIRED_FIELDS
        .iter()
        .all(|required| input.fields.iter().any(|field| field == required))
    {
        return Err(HttpSigError::new(format!(
            "Signature-Input must cover {}; it covers {}",
            REQUIRED_FIELDS.join(" "),
            input.fields.join(" ")
        )));
    }
    if let Some(absent) = REQUIRED_FIELDS[2..]
        .iter()
        .find(|field| header(field).is_none())
    {
        return Err(HttpSigError::new(format!(
            "covered header {absent} is missing"
        )));
    }
    if input.params.created.is_none() {
        return Err(HttpSigError::new(
            "Signature-Input has no created parameter",
        ));
    }
    let signature = Signature::parse(&signature_header)?.signify_signature()?;
    let base = input.base(method, path, &header);
    if !verfer.verify(base.as_bytes(), &signature) {
        return Err(HttpSigError::new("signature does not verify"));
    }
    Ok(input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    const CONTROLLER_SEED: &str = "ACap1vZ_Xe0kvmhZ7UIqhsajzzYIUbKnJlxe6vbd_1uI";
    const CONTROLLER_KEY: &str = "DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc";
    const CONTROLLER_AID: &str = "ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose";
    const AGENT_AID: &str = "EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX";

    const REQUEST_INPUT: &str = r#"signify=("@method" "@path" "signify-resource" "signify-timestamp");created=1704164645;keyid="DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc";alg="ed25519""#;
    const REQUEST_SIGNATURE: &str = r#"indexed="?0";signify="0BCvz2QnAbITLgYGrjmcM_Y636CRtcijGtsGo-Pjbj2agpnktrmVGZlKgSrHBKk0MQJ_nqIP_M6EKUG5PsiHXYUC""#;
    const REQUEST_BASE: &str = concat!(
        "\"@method\": GET\n",
        "\"@path\": /identifiers\n",
        "\"signify-resource\": ELI7pg979AdhmvrjDeam2eAO2SR5niCgnjAJXJHtJose\n",
        "\"signify-timestamp\": 2024-01-02T03:04:05.678000+00:00\n",
        "\"@signature-params: (@method @path signify-resource signify-timestamp);created=1704164645;",
        "keyid=DAbWjobbaLqRB94KiAutAHb_qzPpOHm3LURA_ksxetVc;alg=ed25519\""
    );
    const RESPONSE_INPUT: &str = r#"signify=("signify-resource" "@method" "@path" "signify-timestamp");created=1704164645;keyid="EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX";alg="ed25519""#;
    const RESPONSE_SIGNATURE: &str = r#"indexed="?0";signify="0BDp3Vod55KJMoNAJ23ScCIgu6Ev7sNW2T9gKHd0WNmJQkH510JnBhZHXty7vHlcecIzN7W9_SjSviiGVjEDLwoH""#;
    const RESPONSE_BASE: &str = concat!(
        "\"signify-resource\": EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX\n",
        "\"@method\": GET\n",
        "\"@path\": /identifiers\n",
        "\"signify-timestamp\": 2024-01-02T03:04:05.678901+00:00\n",
        "\"@signature-params: (signify-resource @method @path signify-timestamp);created=1704164645;",
        "keyid=EI4mlQjhXlBFHrCD4_2jzh_SSwfeSL5IDmaZQyEjn0wX;alg=ed25519\""
    );

    fn request_header(name: &str) -> Option<String> {
        let value = match name {
            "content-type" => "application/json",
            "range" => "aids=0-24",
            "signature" => REQUEST_SIGNATURE,
            "signature-input" => REQUEST_INPUT,
            "signify-resource" => CONTROLLER_AID,
            "signify-timestamp" => " 2024-01-02T03:04:05.678000+00:00 ",
            _ => return None,
        };
        Some(value.to_owned())
    }

    fn agent_signer() -> Signer {
        let seed: [u8; 32] = std::array::from_fn(|at| u8::try_from(at).unwrap() + 1);
        Signer::from_seed(&seed)
    }

    #[test]
    fn request_base_and_signature_match_the_vector() {
        let input = SignatureInput::parse(REQUEST_INPUT).unwrap();
        assert_eq!(input.fields, REQUIRED_FIELDS);
        assert_eq!(input.params.created, Some(1_704_164_645));
        assert_eq!(input.params.keyid.as_deref(), Some(CONTROLLER_KEY));
        assert_eq!(input.params.alg.as_deref(), Some("ed25519"));
        assert_eq!(input.to_header(), REQUEST_INPUT);
        assert_eq!(
            input.base("GET", "/identifiers", request_header),
            REQUEST_BASE
        );
        let signer = Signer::parse(CONTROLLER_SEED).unwrap();
        let signature = Signature::from_cigar(&signer.sign_cigar(REQUEST_BASE.as_bytes()));
        assert_eq!(signature.to_header(), REQUEST_SIGNATURE);
        let verified =
            verify_request("GET", "/identifiers", request_header, &signer.verfer()).unwrap();
        assert_eq!(verified, input);
    }

    #[test]
    fn request_headers_match_the_vector() {
        let signer = Signer::parse(CONTROLLER_SEED).unwrap();
        let headers = request_headers(
            CONTROLLER_AID,
            &signer,
            "GET",
            "/identifiers",
            datetime!(2024-01-02 03:04:05.678 UTC),
        );
        assert_eq!(
            headers,
            [
                ("Signify-Resource", CONTROLLER_AID.to_owned()),
                (
                    "Signify-Timestamp",
                    "2024-01-02T03:04:05.678000+00:00".to_owned()
                ),
                ("Signature-Input", REQUEST_INPUT.to_owned()),
                ("Signature", REQUEST_SIGNATURE.to_owned()),
            ]
        );
    }

    #[test]
    fn response_headers_match_the_vector() {
        let signer = agent_signer();
        let headers = response_headers(
            AGENT_AID,
            &signer,
            "GET",
            "/identifiers",
            datetime!(2024-01-02 03:04:05.678901 UTC),
        );
        assert_eq!(
            headers,
            [
                ("Signify-Resource", AGENT_AID.to_owned()),
                (
                    "Signify-Timestamp",
                    "2024-01-02T03:04:05.678901+00:00".to_owned()
                ),
                ("Signature-Input", RESPONSE_INPUT.to_owned()),
                ("Signature", RESPONSE_SIGNATURE.to_owned()),
            ]
        );
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(header, _)| header.eq_ignore_ascii_case(name))
                .map(|(_, value)| value.clone())
        };
        let input = SignatureInput::parse(RESPONSE_INPUT).unwrap();
        assert_eq!(input.base("GET", "/identifiers", lookup), RESPONSE_BASE);
        verify_request("GET", "/identifiers", lookup, &signer.verfer()).unwrap();
        assert_eq!(
            verify_request("GET", "/identifiers/other", lookup, &signer.verfer())
                .unwrap_err()
                .to_string(),
            "signature does not verify"
        );
    }

    #[test]
    fn absent_headers_are_left_out_of_the_base() {
        let params = SignatureParams {
            created: Some(1),
            nonce: Some("n".into()),
            ..SignatureParams::default()
        };
        let base = signature_base(
            &["@method", "@authority", "x-absent", "x-present"],
            "POST",
            "/p",
            |name| (name == "x-present").then(|| "  v  ".to_owned()),
            &params,
        );
        assert_eq!(
            base,
            concat!(
                "\"@method\": POST\n",
                "\"x-present\": v\n",
                "\"@signature-params: (@method x-present);created=1;nonce=n\""
            )
        );
    }

    /// Why the request of section 7.6 is refused once header `name` is replaced by `value`.
    fn refusal_with(name: &str, value: Option<&str>) -> String {
        let lookup = |header: &str| {
            if header == name {
                value.map(str::to_owned)
            } else {
                request_header(header)
            }
        };
        let verfer = Verfer::parse(CONTROLLER_KEY).unwrap();
        verify_request("GET", "/identifiers", lookup, &verfer)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn tampered_or_incomplete_requests_are_refused() {
        let cases = [
            ("signature", None, "missing Signature header"),
            (
                "signature-input",
                Some(" "),
                "missing Signature-Input header",
            ),
            (
                "signify-resource",
                Some("EOther"),
                "signature does not verify",
            ),
            (
                "signify-timestamp",
                None,
                "covered header signify-timestamp is missing",
            ),
            (
                "signature-input",
                Some(r#"signify=("@method");created=1;keyid="k";alg="ed25519""#),
                "Signature-Input must cover @method @path signify-resource signify-timestamp; \
                 it covers @method",
            ),
            (
                "signature-input",
                Some(r#"signify=("@method" "@path" "signify-resource" "signify-timestamp")"#),
                "Signature-Input has no created parameter",
            ),
            (
                "signature",
                Some(r#"indexed="?0";signify="0BCvy""#),
                "Signature header: not a qb64 Ed25519 signature: expected 88 characters, got 5",
            ),
        ];
        for (name, value, reason) in cases {
            assert_eq!(refusal_with(name, value), reason, "{name}");
        }
        let flipped = REQUEST_SIGNATURE.replacen("0BCvz", "0BCvy", 1);
        assert_eq!(
            refusal_with("signature", Some(&flipped)),
            "signature does not verify"
        );
        let verfer = Verfer::parse(CONTROLLER_KEY).unwrap();
        let other_key = Verfer::parse("DHm1Vi6P5lT5QHixEuipi6eQH4U65pW-1-DjkQutBJZk").unwrap();
        assert!(verify_request("GET", "/identifiers", request_header, &other_key).is_err());
        assert!(verify_request("POST", "/identifiers", request_header, &verfer).is_err());
        assert!(verify_request("GET", "/identifiers?x=1", request_header, &verfer).is_err());
    }

    #[test]
    fn signature_input_dictionaries_parse() {
        let several = format!(
            "other=(\"x\");created=2, {REQUEST_INPUT} , flag;a=?1;b=1.25;c=:AAEC:;d=tok/en"
        );
        assert_eq!(
            SignatureInput::parse(&several).unwrap(),
            SignatureInput::parse(REQUEST_INPUT).unwrap()
        );
        let token_params =
            "signify=( \"@method\"  \"@path\" );created=-5;keyid=DAbW;alg=ed25519;extra";
        let input = SignatureInput::parse(token_params).unwrap();
        assert_eq!(input.fields, ["@method", "@path"]);
        assert_eq!(input.params.created, Some(-5));
        assert_eq!(input.params.keyid.as_deref(), Some("DAbW"));
        let escaped = SignatureInput {
            fields: vec!["a\"b\\c".into()],
            params: SignatureParams {
                keyid: Some("k\"".into()),
                ..SignatureParams::default()
            },
        };
        assert_eq!(
            SignatureInput::parse(&escaped.to_header()).unwrap(),
            escaped
        );
        let last_wins = "signify=(\"a\");created=1, signify=(\"b\");created=2";
        assert_eq!(SignatureInput::parse(last_wins).unwrap().fields, ["b"]);
    }

    #[test]
    fn malformed_signature_inputs_are_refused() {
        let cases = [
            ("", "Signature-Input has no signify member"),
            ("other=(\"a\")", "Signature-Input has no signify member"),
            (
                "signify",
                "Signature-Input signify member must be an inner list",
            ),
            (
                "signify=\"a\"",
                "Signature-Input signify member must be an inner list",
            ),
            ("signify=(a)", "Signature-Input field names must be strings"),
            (
                "signify=(\"a\");created=\"1\"",
                "Signature-Input parameter created must be an integer",
            ),
            (
                "signify=(\"a\");keyid=1",
                "Signature-Input parameter keyid must be a string",
            ),
            (
                "signify=(\"a\"",
                "malformed Signature-Input: unterminated inner list at index 12",
            ),
            (
                "signify=(\"a\"\"b\")",
                "malformed Signature-Input: expected inner list delimiter (' ' or ')') at index 12",
            ),
            (
                "signify=(\"a)",
                "malformed Signature-Input: unterminated string at index 12",
            ),
            (
                "Signify=(\"a\")",
                "malformed Signature-Input: expected start of key ('a'-'z' or '*') at index 0",
            ),
            (
                "signify=(\"a\"),",
                "malformed Signature-Input: trailing comma at index 13",
            ),
            (
                "signify=(\"a\");created=1234567890123456",
                "malformed Signature-Input: too many digits at index 37",
            ),
            (
                "signify=(\"a\");created=1.2345",
                "malformed Signature-Input: too many digits after decimal point at index 27",
            ),
            (
                "signify=(\"é\")",
                "malformed Signature-Input: invalid string character at index 10",
            ),
            (
                "signify=(\"a\") x",
                "malformed Signature-Input: trailing characters after member at index 14",
            ),
            (
                "signify=(\"a\\n\")",
                "malformed Signature-Input: invalid escape sequence at index 12",
            ),
            (
                "signify=?2",
                "malformed Signature-Input: expected boolean ('0' or '1') at index 9",
            ),
            (
                "signify=:AA",
                "malformed Signature-Input: unterminated byte sequence at index 11",
            ),
        ];
        for (header, reason) in cases {
            assert_eq!(
                SignatureInput::parse(header).unwrap_err().to_string(),
                reason,
                "{header}"
            );
        }
    }

    #[test]
    fn signature_headers_parse_as_signify_does() {
        let parsed = Signature::parse(REQUEST_SIGNATURE).unwrap();
        assert_eq!(parsed.signages.len(), 1);
        assert!(!parsed.signages[0].indexed);
        assert_eq!(parsed.to_header(), REQUEST_SIGNATURE);
        let spaced = Signature::parse(&REQUEST_SIGNATURE.replacen(';', "; ", 1)).unwrap();
        assert_eq!(spaced, parsed);
        let several =
            Signature::parse(r#"indexed="?1";signify="AA",indexed="false";other="x=y""#).unwrap();
        assert!(several.signages[0].indexed);
        assert!(!several.signages[1].indexed);
        assert_eq!(
            several.signages[1].markers,
            [("other".to_owned(), "x=y".to_owned())]
        );
        assert!(several.signify_signature().is_err());
        assert_eq!(
            Signature::parse("").unwrap_err().to_string(),
            "Signature header is empty"
        );
        assert_eq!(
            Signature::parse("signify=\"0B\"").unwrap_err().to_string(),
            "Signature signage has no indexed item"
        );
        assert_eq!(
            Signature::parse("indexed=\"?0\";x")
                .unwrap_err()
                .to_string(),
            "Signature item \"x\" has no '='"
        );
        assert_eq!(
            Signature::parse("indexed=\"?0\"")
                .unwrap()
                .signify_signature()
                .unwrap_err()
                .to_string(),
            "Signature header has no signify signature"
        );
        let indexed = Signature::parse(
            "indexed=\"?1\";signify=\"AACJwsJ0mvb4VgxD87H4jIsiT1QtlzznUy9zrX3lGdd48jjQRTv8FxlJ8ClDsGtkvK4Eekg5p-oPYiPvK_1eTXEG\"",
        )
        .unwrap();
        assert_eq!(indexed.signify_signature().unwrap()[0], 0x89);
    }

    /// What sfv writes for a `Signature-Input` value it has read.
    fn sfv_serialization(header: &str) -> Option<String> {
        let dictionary: sfv::Dictionary = sfv::Parser::new(header)
            .with_version(sfv::Version::Rfc8941)
            .parse()
            .ok()?;
        sfv::FieldType::serialize(&dictionary)
    }

    #[test]
    fn signature_inputs_are_written_as_sfv_writes_them() {
        for header in [REQUEST_INPUT, RESPONSE_INPUT] {
            let input = SignatureInput::parse(header).unwrap();
            assert_eq!(input.to_header(), header);
            assert_eq!(sfv_serialization(&input.to_header()).unwrap(), header);
        }
    }

    /// Why `Signature` is not read with sfv: Signify separates signages with `,`, each led by
    /// its own `indexed` item, so a header with two signages repeats the dictionary key
    /// `indexed`; RFC 8941 keeps only the last, dropping the first signage, whose `signify`
    /// signature is the one verified.
    #[test]
    fn signature_headers_are_not_rfc_8941_dictionaries() {
        let two_signages = r#"indexed="?0";signify="AA",indexed="?1";other="BB""#;
        let dictionary: sfv::Dictionary = sfv::Parser::new(two_signages)
            .with_version(sfv::Version::Rfc8941)
            .parse()
            .unwrap();
        assert_eq!(dictionary.len(), 1);
        assert_eq!(
            sfv::FieldType::serialize(&dictionary).unwrap(),
            r#"indexed="?1";other="BB""#
        );
        let signature = Signature::parse(two_signages).unwrap();
        assert_eq!(signature.signages.len(), 2);
        assert_eq!(
            signature.signages[0].markers,
            [("signify".to_owned(), "AA".to_owned())]
        );
    }

    /// The section 7.6 request headers with one character replaced, inserted or removed.
    fn mutated_vector() -> impl Strategy<Value = (String, String)> {
        let mutate = |text: &'static str| {
            (0..=text.len(), 0..3u8, any::<char>()).prop_map(move |(at, how, character)| {
                let mut chars: Vec<char> = text.chars().collect();
                let at = at.min(chars.len());
                match how {
                    0 if at < chars.len() => chars[at] = character,
                    1 => chars.insert(at, character),
                    _ if at < chars.len() => {
                        chars.remove(at);
                    }
                    _ => {}
                }
                chars.into_iter().collect::<String>()
            })
        };
        prop_oneof![
            (mutate(REQUEST_INPUT), Just(REQUEST_SIGNATURE.to_owned())),
            (Just(REQUEST_INPUT.to_owned()), mutate(REQUEST_SIGNATURE)),
        ]
    }

    proptest! {
        #[test]
        fn signed_request_checks_never_panic(
            (input, signature) in prop_oneof![
                mutated_vector(),
                (".{0,200}", ".{0,200}"),
                ("[ -~]{0,200}", "[ -~]{0,200}"),
            ]
        ) {
            let lookup = |name: &str| match name {
                "signature-input" => Some(input.clone()),
                "signature" => Some(signature.clone()),
                _ => request_header(name),
            };
            let verfer = Verfer::parse(CONTROLLER_KEY).unwrap();
            // The base is rebuilt from the parsed input, so only the signed one can verify.
            if let Ok(verified) = verify_request("GET", "/identifiers", lookup, &verfer) {
                prop_assert_eq!(verified, SignatureInput::parse(REQUEST_INPUT).unwrap());
            }
        }

        #[test]
        fn parsed_signature_inputs_write_back_what_they_read(text in prop_oneof![
            ".{0,120}",
            "signify=\\((\"[ -~&&[^\"\\\\]]{0,8}\" ?){0,4}\\)(;[a-z]{1,7}=(-?[0-9]{1,15}|\"[ -~&&[^\"\\\\]]{0,10}\"|[a-z][a-z0-9]{0,8}))*",
        ]) {
            if let Ok(input) = SignatureInput::parse(&text) {
                let written = input.to_header();
                prop_assert_eq!(sfv_serialization(&written), Some(written.clone()));
                prop_assert_eq!(SignatureInput::parse(&written).unwrap(), input);
            }
        }

        #[test]
        fn header_parsers_never_panic(
            text in prop_oneof![
                ".{0,80}",
                "[a-z=(\"); ,?:*0-9.@-]{0,80}",
                "signify=\\([a-z\" @-]{0,30}\\)[;a-z=\"0-9.?:-]{0,40}",
            ]
        ) {
            let _ = SignatureInput::parse(&text);
            if let Ok(signature) = Signature::parse(&text) {
                let _ = signature.signify_signature();
            }
        }

        #[test]
        fn signature_inputs_round_trip(
            fields in prop::collection::vec("[ -~]{0,12}", 0..5),
            created in -999_999_999_999_999i64..=999_999_999_999_999,
            keyid in "[ -~]{0,20}",
        ) {
            let input = SignatureInput {
                fields,
                params: SignatureParams { created: Some(created), keyid: Some(keyid), ..SignatureParams::default() },
            };
            prop_assert_eq!(SignatureInput::parse(&input.to_header()).unwrap(), input);
        }
    }

    #[test]
    fn signify_timestamps_have_milliseconds() {
        assert_eq!(
            signify_timestamp(datetime!(2024-01-02 03:04:05.678901 UTC)),
            "2024-01-02T03:04:05.678000+00:00"
        );
    }
}
