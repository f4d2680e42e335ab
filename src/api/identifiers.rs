//! The signed identifier routes: `/identifiers…`.
//!
//! Each handler works on the authenticated controller's rows only: reads from a consistent
//! view of what is durable, writes staged into the open batch (acknowledged once it commits).

use serde_json::{json, Value};

use url::Url;

use super::operations::event_operation;
use super::reply::{failure, json_body, json_response, staged_operation};
use crate::agency::receipting::Receipting;
use crate::agency::signatures;
use crate::agency::{delegables, delegations, identifiers, operations, witnesses};
use crate::agency::{Agency, Failure};
use crate::keri::event::Event;
use crate::keri::ilk::Ilk;
use crate::server::http::{Request, Response};
use crate::store::OwnerWriter;

/// `GET /identifiers`, with `Range: aids=S-E` (inclusive) answered 206.
pub(super) fn list(agency: &Agency, controller: &str, request: &Request) -> Response {
    let all = match agency
        .read()
        .and_then(|reader| identifiers::list(&reader.owner(controller)))
    {
        Ok(all) => all,
        Err(err) => return failure(Failure::Storage(err)),
    };
    let total = all.len();
    let Some(range) = request.header("range") else {
        let body: Vec<Value> = all.iter().map(identifiers::Identifier::summary).collect();
        return json_response(200, &Value::Array(body))
            .header("Accept-Ranges", "aids")
            .header(
                "Content-Range",
                &content_range(0, total.saturating_sub(1), total),
            );
    };
    let Some((start, end)) = parse_range(range) else {
        return Response::error(
            400,
            "400 Bad Request",
            &format!("Range must be aids=START-END, not {range:?}"),
        );
    };
    if total > 0 && start >= total {
        return Response::error(
            416,
            "416 Range Not Satisfiable",
            &format!("there are {total} identifiers"),
        )
        .header("Content-Range", &format!("aids */{total}"));
    }
    let end = end.min(total.saturating_sub(1));
    let body: Vec<Value> = all
        .iter()
        .skip(start)
        .take(end + 1 - start.min(end + 1))
        .map(identifiers::Identifier::summary)
        .collect();
    json_response(206, &Value::Array(body))
        .header("Accept-Ranges", "aids")
        .header("Content-Range", &content_range(start, end, total))
}

/// `POST /identifiers`: a signed inception, staged with its `done.{prefix}` operation; or,
/// when it names witnesses (each must be known), with its receipting and the
/// `witness.{prefix}` operation that is done once their receipts reach `bt`.
pub(super) fn create(
    agency: &mut Agency,
    controller: &str,
    request: &Request,
    receipting: &mut Receipting,
) -> Response {
    let wits: Vec<String> = json_body(request)
        .ok()
        .and_then(|body| {
            body["icp"]["b"].as_array().map(|wits| {
                wits.iter()
                    .filter_map(|wit| wit.as_str().map(ToOwned::to_owned))
                    .collect()
            })
        })
        .unwrap_or_default();
    let urls = match known_witnesses(agency, controller, &wits) {
        Ok(urls) => urls,
        Err(err) => return failure(err),
    };
    if json_body(request).is_ok_and(|body| body.get("group").is_some()) {
        return super::multisig::incept(agency, controller, request, &urls, receipting);
    }
    staged_operation(agency, controller, request, 202, |rows, body, seen| {
        if !urls.is_empty() {
            receipting.check_room()?;
        }
        let icp = identifiers::create(rows, body, seen)?;
        if urls.is_empty() {
            let operation = operations::done(
                &format!("done.{}", icp.prefix()),
                json!({"pre": icp.prefix(), "response": icp.value()}),
                icp.value().clone(),
            );
            return Ok((operation, true));
        }
        let sigs = identifiers::sigs(body)?;
        let toad = usize::try_from(icp.backer_threshold().unwrap_or(0)).unwrap_or(usize::MAX);
        let operation = receipting.stage(rows, controller, (&icp, &sigs), (urls, toad), None)?;
        Ok((operation, false))
    })
}

/// Where each of `wits` is reached, as `controller`'s agent knows it; a 400 naming the first
/// witness it does not know.
pub(super) fn known_witnesses(
    agency: &Agency,
    controller: &str,
    wits: &[String],
) -> Result<Vec<(String, Url)>, Failure> {
    if wits.is_empty() {
        return Ok(Vec::new());
    }
    let reader = agency.read().map_err(Failure::Storage)?;
    witnesses::urls(&reader, controller, wits)
        .map_err(Failure::Storage)?
        .map_err(|unknown| Failure::Invalid(format!("unknown witness {unknown}")))
}

/// `POST /identifiers/{name}/submit`: the identifier's latest event goes to its witnesses
/// again, with a `submit.{prefix}` operation done once their receipts reach `bt`.
pub(super) fn submit(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    receipting: &mut Receipting,
) -> Response {
    let found = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        let identifier = identifiers::find(&rows, name)?;
        let stored = rows.kel(identifier.prefix()).map_err(Failure::Storage)?;
        Ok((identifier, stored))
    });
    let (identifier, stored) = match found {
        Ok(found) => found,
        Err(err) => return failure(err),
    };
    let (wits, toad) = identifier.witnesses();
    if wits.is_empty() {
        return failure(Failure::Invalid(format!(
            "invalid identifier submitted, {name} has no witnesses"
        )));
    }
    let urls = match known_witnesses(agency, controller, &wits) {
        Ok(urls) => urls,
        Err(err) => return failure(err),
    };
    let Some(latest) = stored.last() else {
        return failure(Failure::NotFound(format!("no key event log for {name}")));
    };
    let event = match Event::parse(&latest.raw) {
        Ok(event) => event,
        Err(err) => return failure(Failure::Storage(anyhow::anyhow!("stored event: {err}"))),
    };
    let sigs = match signatures::parse(&latest.sigs) {
        Ok(sigs) => sigs,
        Err(err) => return failure(Failure::Storage(err)),
    };
    let operation = (
        format!("submit.{}", event.prefix()),
        json!({"alias": name, "sn": event.sn()}),
    );
    let staged = agency.stage(controller, |rows| {
        receipting.stage(
            rows,
            controller,
            (&event, &sigs),
            (urls, toad),
            Some(operation),
        )
    });
    match staged {
        Ok(operation) => json_response(202, &operation),
        Err(err) => failure(err),
    }
}

/// `GET /identifiers/{name}/oobis?role=witness`: `{witness url}/oobi/{prefix}/witness/{wit}`
/// for each of the identifier's witnesses.
pub(super) fn witness_oobis(agency: &Agency, controller: &str, name: &str) -> Response {
    let listed = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let identifier = identifiers::find(&reader.owner(controller), name)?;
        let (wits, _) = identifier.witnesses();
        let urls = witnesses::urls(&reader, controller, &wits)
            .map_err(Failure::Storage)?
            .map_err(|unknown| {
                Failure::NotFound(format!(
                    "unable to query witness {unknown}, no http endpoint"
                ))
            })?;
        Ok(urls
            .into_iter()
            .filter_map(|(wit, url)| {
                url.join(&format!("oobi/{}/witness/{wit}", identifier.prefix()))
                    .ok()
                    .map(|url| Value::String(url.to_string()))
            })
            .collect::<Vec<Value>>())
    });
    match listed {
        Ok(oobis) => json_response(200, &json!({"role": "witness", "oobis": oobis})),
        Err(err) => failure(err),
    }
}

/// `GET /identifiers/{name or prefix}`.
pub(super) fn get(agency: &Agency, controller: &str, name: &str) -> Response {
    let found = agency.read().map_err(Failure::Storage).and_then(|reader| {
        let rows = reader.owner(controller);
        let identifier = identifiers::find(&rows, name)?;
        Ok(super::multisig::expanded(&rows, identifier.detail()))
    });
    match found {
        Ok(identifier) => json_response(200, &identifier),
        Err(err) => failure(err),
    }
}

/// `PUT /identifiers/{name}` `{"name": new}`: renames.
pub(super) fn rename(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
) -> Response {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(response) => return response,
    };
    match agency.stage(controller, |rows| identifiers::rename(rows, name, &body)) {
        Ok(identifier) => json_response(200, &identifier.detail()),
        Err(err) => failure(err),
    }
}

/// `POST /identifiers/{name}/events`: the next `ixn` or `rot`, with its `done.{said}`; for
/// a witnessed identifier, with its receipting and the `witness.{prefix}` operation.
pub(super) fn event(
    agency: &mut Agency,
    controller: &str,
    name: &str,
    request: &Request,
    receipting: &mut Receipting,
) -> Response {
    let known = match event_witnesses(agency, controller, name, request) {
        Ok(known) => known,
        Err(err) => return failure(err),
    };
    staged_operation(agency, controller, request, 200, |rows, body, seen| {
        let (_, operation, new) =
            stage_next_event(rows, controller, (name, body, seen), &known, receipting)?;
        Ok((operation, new))
    })
}

/// Where the witnesses the next event of `name` in `request` may leave are reached, as far as
/// `controller`'s agent knows: the current ones and those a rotation adds.
pub(super) fn event_witnesses(
    agency: &Agency,
    controller: &str,
    name: &str,
    request: &Request,
) -> Result<Vec<(String, Url)>, Failure> {
    let mut candidates = agency
        .read()
        .ok()
        .and_then(|reader| identifiers::find(&reader.owner(controller), name).ok())
        .map(|identifier| identifier.witnesses().0)
        .unwrap_or_default();
    if let Ok(body) = json_body(request) {
        let added = body["rot"]["ba"].as_array().cloned().unwrap_or_default();
        candidates.extend(
            added
                .iter()
                .filter_map(|wit| wit.as_str().map(ToOwned::to_owned)),
        );
    }
    let reader = agency.read().map_err(Failure::Storage)?;
    Ok(candidates
        .iter()
        .filter_map(|wit| {
            witnesses::url(&reader, controller, wit)
                .ok()?
                .map(|url| (wit.clone(), url))
        })
        .collect())
}

/// The URLs of `wits` among `known`; a 400 naming the first that is not.
pub(super) fn witness_urls(
    wits: &[String],
    known: &[(String, Url)],
) -> Result<Vec<(String, Url)>, Failure> {
    wits.iter()
        .map(|wit| {
            known
                .iter()
                .find(|(have, _)| have == wit)
                .cloned()
                .ok_or_else(|| Failure::Invalid(format!("unknown witness {wit}")))
        })
        .collect()
}

/// Checks and stages the next `ixn` or `rot` of `name` in `body` (first seen at `seen`), with
/// its receipting by the witnesses at `known`; the event, its operation, and whether that
/// operation is new (to be staged). An interaction's seals approve the delegated events they
/// name (`delegables`); an identifier whose delegated event waits takes none.
pub(super) fn stage_next_event(
    rows: &mut OwnerWriter<'_>,
    controller: &str,
    (name, body, seen): (&str, &Value, &str),
    known: &[(String, Url)],
    receipting: &mut Receipting,
) -> Result<(Event, Value, bool), Failure> {
    delegations::refuse_while_pending(rows, name)?;
    let next = identifiers::check_next(rows, name, body, seen)?;
    let (wits, toad) = next.witnesses();
    if wits.is_empty() || !next.appended().is_new() {
        let (event, appended) = identifiers::stage_next(rows, next, seen)?;
        if appended.is_new() && event.ilk() == Ilk::Ixn {
            delegables::approve(rows, &event, None)?;
        }
        let operation = event_operation(&event);
        return Ok((event, operation, appended.is_new()));
    }
    let urls = witness_urls(&wits, known)?;
    receipting.check_room()?;
    let (event, sigs) = (next.event().clone(), next.sigs().to_vec());
    identifiers::stage_next(rows, next, seen)?;
    let operation = receipting.stage(rows, controller, (&event, &sigs), (urls, toad), None)?;
    if event.ilk() == Ilk::Ixn {
        delegables::approve(rows, &event, None)?;
    }
    Ok((event, operation, false))
}

/// `aids=S-E` → (S, E), inclusive, S ≤ E.
fn parse_range(range: &str) -> Option<(usize, usize)> {
    let (start, end) = range.trim().strip_prefix("aids=")?.split_once('-')?;
    let start: usize = start.trim().parse().ok()?;
    let end: usize = end.trim().parse().ok()?;
    (start <= end).then_some((start, end))
}

/// `aids S-E/T`; an empty list is `aids 0-0/0`, as Signify expects.
fn content_range(start: usize, end: usize, total: usize) -> String {
    if total == 0 {
        return "aids 0-0/0".to_owned();
    }
    format!("aids {start}-{end}/{total}")
}

#[cfg(test)]
mod tests {
    use super::{content_range, parse_range};

    #[test]
    fn ranges_are_inclusive_and_totals_exact() {
        assert_eq!(parse_range("aids=0-24"), Some((0, 24)));
        assert_eq!(parse_range("aids=3-2"), None);
        assert_eq!(parse_range("bytes=0-1"), None);
        assert_eq!(parse_range("aids=x-1"), None);
        assert_eq!(content_range(0, 1, 2), "aids 0-1/2");
        assert_eq!(content_range(0, 0, 0), "aids 0-0/0");
    }
}
