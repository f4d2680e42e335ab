//! The credential schemas an agent holds, `GET /schema` and `GET /schema/{said}`: those its
//! controller resolved from data OOBIs and those of the configuration's `durls`, as KERIA
//! answers them (each schema's JSON as served, in KERIA's `json.dumps` form).

use serde_json::Value;

use super::reply::{failure, json_response};
use crate::agency::{schemas, Agency, Failure};
use crate::server::http::Response;

/// `GET /schema`: every schema the agent holds, by SAID.
pub(super) fn list(agency: &Agency, controller: &str) -> Response {
    match agency
        .read()
        .and_then(|reader| schemas::list(&reader, controller))
    {
        Ok(all) => json_response(200, &Value::Array(all)),
        Err(err) => failure(Failure::Storage(err)),
    }
}

/// `GET /schema/{said}`: one schema; 404 when the agent holds none by that SAID.
pub(super) fn get(agency: &Agency, controller: &str, said: &str) -> Response {
    match agency
        .read()
        .and_then(|reader| schemas::get(&reader, controller, said))
    {
        Ok(Some(schema)) => json_response(200, &schema),
        Ok(None) => failure(Failure::NotFound("Schema not found".into())),
        Err(err) => failure(Failure::Storage(err)),
    }
}
