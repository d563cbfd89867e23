//! Escalation paths: the first eligible step's vehicle, or the fallback.

use super::actions::action_sel;
use super::guards::compile;
use super::linker::Linker;
use super::registry::Parsed;
use super::registry::{Registry, prose};
use crate::diagnostic::{Code, Problem};
use crate::load::raw::{self, Text};
use crate::model::{Described, FallbackDef, PathDef, StepDef};

impl Linker<'_> {
    pub(super) fn paths(&mut self, parsed: &Parsed) -> Vec<PathDef> {
        let mut paths = Vec::new();
        for (file, content) in parsed {
            for (name, path) in &content.paths.0 {
                paths.push(self.path(*file, name, path));
            }
        }
        paths
    }

    fn path(&mut self, file: usize, name: &Text, path: &raw::EscalationPath) -> PathDef {
        let mut ids = Registry::new("step");
        let mut steps = Vec::new();
        // The first step that is always eligible: nothing after it is reached.
        let mut always: Option<&str> = None;
        for step in &path.steps {
            let loc = self.b.at(file, &step.id);
            prose(&mut self.b, "step", &step.id.value, step, &loc);
            ids.declare(&step.id.value, loc, &mut self.b.problems);
            if let Some(previous) = always {
                self.unreachable_step(file, name, step, previous);
            }
            if let Some(linked) = self.step(file, step) {
                if linked.guard.expr.always && always.is_none() {
                    always = Some(&step.id.value);
                }
                steps.push(linked);
            }
        }
        let fallback =
            match &path.fallback {
                Some(f) => self.fallback(file, name, f, always),
                None => {
                    if always.is_none() {
                        let message = format!("path `{}` has no fallback", name.value);
                        let loc = Some(self.b.at(file, name));
                        self.b.problems.push(
                            Problem::error(Code::NoFallback, message, loc).with_help(concat!(
                                "add `fallback:` with the outcome, action and rationale ",
                                "for when no step is eligible"
                            )),
                        );
                    }
                    None
                }
            };
        PathDef {
            id: name.value.as_str().into(),
            info: Described::new(&name.value, &path.title, path.description.as_deref()),
            steps,
            fallback,
        }
    }

    fn unreachable_step(&mut self, file: usize, path: &Text, step: &raw::Step, previous: &str) {
        let message = format!(
            "step `{}` of path `{}` can never be reached",
            step.id.value, path.value
        );
        let loc = self.b.at(file, &step.id);
        self.b.problems.push(
            Problem::error(Code::Unreachable, message, Some(loc))
                .with_help(format!("step `{previous}` before it is always eligible")),
        );
    }

    fn step(&mut self, file: usize, step: &raw::Step) -> Option<StepDef> {
        let b = &mut self.b;
        let vehicle_loc = b.at(file, &step.vehicle);
        let vehicle =
            self.declared
                .vehicles
                .resolve(&step.vehicle.value, &vehicle_loc, &mut b.problems);
        let expr = match &step.when {
            Some(text) => compile(b, self.compiler, file, text),
            None => Some(self.compiler.always(b.at(file, &step.id))),
        };
        let (vehicle, expr) = (vehicle?, expr?);
        Some(StepDef {
            id: step.id.value.as_str().into(),
            vehicle,
            guard: self.guards.guard(self.schema, expr),
            rationale: step.rationale.trim().into(),
        })
    }

    fn fallback(
        &mut self,
        file: usize,
        path: &Text,
        f: &raw::Fallback,
        always: Option<&str>,
    ) -> Option<FallbackDef> {
        let b = &mut self.b;
        let declared = &mut self.declared;
        let outcome_loc = b.at(file, &f.outcome);
        prose(b, "path", &path.value, f, &outcome_loc);
        let outcome = declared
            .outcomes
            .resolve(&f.outcome.value, &outcome_loc, &mut b.problems);
        let action = action_sel(b, self.schema, &mut declared.actions, file, &f.action);
        if let Some(previous) = always {
            let message = format!("the fallback of path `{}` can never be reached", path.value);
            b.problems.push(
                Problem::error(Code::Unreachable, message, Some(outcome_loc)).with_help(format!(
                    "step `{previous}` is always eligible; remove it or the fallback"
                )),
            );
        }
        Some(FallbackDef {
            outcome: outcome?,
            action: action?,
            rationale: f.rationale.trim().into(),
        })
    }
}
