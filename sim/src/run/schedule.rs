//! When things happen: the control events of a run (the periodic check, the check after the
//! last fault, steps, workload payments, expectation deadlines), scheduled on the engine.

use stegosim_formats::trace as ft;
use stegosim_node::rng::Seed;

use super::client::{WorkloadState, draw};
use super::{CHECK_INTERVAL_NS, Control, Runner};
use crate::backend::Backend;
use crate::scenario::{self, Expect, Located, Scenario, Step, Workload};
use crate::trace::Trace;

impl<B: Backend> Runner<'_, B> {
    /// Schedules the periodic check, the check after the last fault, the steps, the
    /// workloads' first payments and the expectations' deadlines.
    pub(super) fn schedule_controls(&mut self, root: Seed) {
        let start_ns = self.b.start_ns();
        self.schedule(start_ns + CHECK_INTERVAL_NS, Control::Check);
        let convergence = self.control_id(Control::Convergence);
        let inv = &self.scenario.invariants;
        let last_fault = self
            .steps
            .iter()
            .filter(|s| s.value.is_fault())
            .map(|s| s.value.at().ns)
            .max();
        if let (true, Some(t)) = (inv.convergence, last_fault) {
            let at = t.saturating_add(inv.converge_within.ns);
            if at <= self.scenario.duration_ns {
                self.b.schedule(start_ns + at, convergence);
            }
        }
        for i in 0..self.steps.len() {
            self.schedule(start_ns + self.steps[i].value.at().ns, Control::Step(i));
        }
        for (i, w) in self.scenario.workloads.iter().enumerate() {
            let Workload::Payments {
                rate_per_s, start, ..
            } = &w.value;
            let mut rng = root.child("workload", i as u64).stream("payments");
            let rate = draw(&mut rng, rate_per_s);
            let mut st = WorkloadState {
                rng,
                rate_per_s: rate,
                next_ns: start.ns,
            };
            st.next_ns = start.ns + st.interval();
            self.schedule(start_ns + st.next_ns, Control::Workload(i));
            self.trace.write(
                0,
                None,
                ft::Event::Workload(ft::Workload {
                    index: i as u64,
                    workload: "payments".into(),
                    rate_per_s: rate,
                }),
            );
            self.workloads.push(st);
        }
        for i in 0..self.checks.expectation_count() {
            if let Some(by) = self.checks.deadlines[i] {
                self.schedule(start_ns + by, Control::Deadline(i));
            }
        }
    }

    /// A new control event id for `c`.
    fn control_id(&mut self, c: Control) -> u64 {
        self.controls.push(c);
        self.controls.len() as u64 - 1
    }

    /// Schedules `c` at virtual instant `at_ns` under a new id.
    pub(super) fn schedule(&mut self, at_ns: u64, c: Control) {
        let id = self.control_id(c);
        self.b.schedule(at_ns, id);
    }

    /// Gives the `tx_status` expectations of payment `name` (submitted at `at_ns`) their
    /// deadlines.
    pub(super) fn schedule_tx_deadlines(&mut self, name: &str, at_ns: u64) {
        for (i, e) in self.scenario.expectations.iter().enumerate() {
            if let Expect::TxStatus { tx, within, .. } = &e.value {
                if tx == name {
                    let deadline = at_ns.saturating_add(within.ns);
                    self.checks.deadlines[i] = Some(deadline);
                    let abs = self.b.start_ns() + deadline;
                    if abs <= self.end_ns {
                        self.schedule(abs, Control::Deadline(i));
                    }
                }
            }
        }
    }
}

/// The scenario's steps and, with a swarm, the seed's fault steps (traced in a `swarm`
/// line), by time; file steps first among equal times.
pub(super) fn steps_of(scenario: &Scenario, seed: u64, trace: &mut Trace) -> Vec<Located<Step>> {
    let mut steps = scenario.steps.clone();
    if let Some(sw) = &scenario.swarm {
        let extra =
            scenario::swarm::steps(&sw.value, seed, scenario.nodes, &scenario.links, sw.line);
        trace.write(
            0,
            None,
            ft::Event::Swarm(ft::Swarm {
                faults_from_ns: sw.value.faults_from.ns,
                faults_until_ns: sw.value.faults_until.ns,
                steps: extra.len() as u64,
            }),
        );
        steps.extend(extra);
        // Stable: file steps stay before swarm steps at equal times.
        steps.sort_by_key(|s| s.value.at());
    }
    steps
}
