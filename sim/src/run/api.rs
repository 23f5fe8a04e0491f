//! What the scenario's API client hears: responses to `api` steps (traced; with `expect`,
//! an expectation decided) and wallet notifications (traced; Snowball states recorded).

use serde_json::value::RawValue;
use stegosim_api::message::{ServerKind, ServerMessage, SnowballStatus};
use stegosim_formats::trace as ft;
use stegosim_node::crypto::Hash;
use stegosim_node::node::NodeId;

use super::Runner;
use super::client::PendingApi;
use crate::backend::Backend;
use crate::outcome::CheckResult;

impl<B: Backend> Runner<'_, B> {
    /// A response or wallet notification to the scenario's API client: traced; a response
    /// to an `api` step with `expect` decides that expectation.
    pub(super) fn api_message(&mut self, node: NodeId, msg: ServerMessage) {
        let t = self.t();
        let type_name = msg.type_name();
        // The message itself, as the API sends it (a simulated fact: no wall time in it
        // except `local_timestamp`, which is the node's virtual clock).
        let mut body = Vec::new();
        msg.to_json(&mut body);
        let body = String::from_utf8(body).unwrap_or_default();
        let message = ft::ApiMessage {
            type_name: type_name.into(),
            message: RawValue::from_string(body).expect("the API writes valid JSON"),
        };
        let event = if msg.id == 0 {
            ft::Event::Notification(message)
        } else {
            ft::Event::ApiResponse(message)
        };
        self.trace.write(t, Some(node), event);
        if let ServerKind::SnowballStatus(s) = &msg.kind {
            self.snowball_line(node, msg.account_id.as_deref(), s);
        }
        let Some(PendingApi { line, expect, name }) = (msg.id != 0)
            .then(|| self.client.api_answered(msg.id))
            .flatten()
        else {
            return;
        };
        if let (Some(n), ServerKind::TransactionCreated(created)) = (&name, &msg.kind) {
            if let Ok(hash) = created.tx_hash.parse::<Hash>() {
                let tx = self
                    .b
                    .node(node)
                    .and_then(|n| n.mempool().get(&hash).cloned());
                self.client.follow_api(n, hash, tx, t);
                self.schedule_tx_deadlines(n, t);
            }
        }
        let Some(want) = expect else { return };
        let detail = match &msg.kind {
            ServerKind::Error(e) => format!("answered {type_name}: {}", e.error),
            _ => format!("answered {type_name}"),
        };
        let result = CheckResult {
            name: format!("api request at line {line} answers {want}"),
            line: Some(line),
            held: type_name == want,
            t_ns: t,
            detail,
        };
        self.checks.api_expectation(&mut self.trace, t, result);
    }

    /// The `snowball_status` trace line of a notification (see `sim/README.md`).
    fn snowball_line(&mut self, node: NodeId, account_id: Option<&str>, s: &SnowballStatus) {
        let t = self.t();
        let state = serde_json::to_value(s.state)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        self.facts
            .snowball_state(node, account_id.unwrap_or(""), state.clone());
        self.trace.write(
            t,
            Some(node),
            ft::Event::SnowballStatus(ft::SnowballStatus {
                account_id: account_id.unwrap_or("").into(),
                state,
                session_id: s.session_id,
                participants: s.participants.map(|p| p as u64),
                error: s.error.clone(),
            }),
        );
    }
}
