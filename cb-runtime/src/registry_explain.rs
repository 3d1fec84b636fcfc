//! `Registry::explain`: where each value of a breaker's configuration comes from, and what else
//! bears on it (a conflict, a fleet, a window waiting for a restart, skipped variables).

use crate::Registry;
use crate::config::{Base, Explanation, FileError, env_var};
use crate::family::family_of;

impl Registry {
    /// The resolved configuration of `name` and the level every key came from (for a name not
    /// registered yet: as a breaker configured in code with the built-in defaults would get).
    pub fn explain(&self, name: &str) -> Explanation {
        let family = name.strip_suffix("/*").and_then(|f| self.family_view(f));
        let base = match &family {
            Some((_, template)) => template.clone(),
            None => self.base_of(name),
        }
        .unwrap_or(Base::Layers {
            outer: vec![],
            inner: vec![],
        });
        let registered = self.get(name).is_some();
        let mut explained = self.config_source().resolve(name, &base);
        explained.notes = self.fleet_notes(name, &explained.config);
        let conflict_name = family_of(name).map_or_else(|| name.to_owned(), |family| format!("{family}/*"));
        explained.notes.extend(self.status.conflict_of(&conflict_name));
        // A reload cannot change a running breaker's window: the one it runs on is in force.
        if let Some(running) = self.get(name).map(|b| b.config().window)
            && running != explained.config.window
        {
            let text = |w| crate::config::Setting::Window(w).value_text();
            explained.notes.push(format!(
                "window {} applies after a restart: this breaker runs on window {}",
                text(explained.config.window),
                text(running)
            ));
            explained.config.window = running;
        }
        match (&family, registered) {
            (Some((live, template)), _) => {
                let family = &name[..name.len() - 2];
                // Without a key on the family's shared resolution its macro arguments are not
                // known here: said, rather than the defaults shown as if they were all.
                let arguments = match template {
                    Some(_) => "",
                    None => {
                        "; no key has taken the family's shared resolution yet, so its type's macro arguments are not shown"
                    }
                };
                explained.notes.push(format!(
                    "keyed family `{family}` ({live} live keys): what a key gets from its type's macro arguments and the family's sections and variables; a section or variable naming one key applies over it{arguments}"
                ));
            }
            (None, false) => explained.notes.push(self.not_registered(name)),
            (None, true) => {}
        }
        if let Some(family) = family_of(name)
            && let Some((max_keys, idle_ttl)) = self.family_limits(family)
        {
            explained.in_family(family, max_keys, idle_ttl);
        }
        // A skipped variable of this breaker's (an unknown key too) is one of its problems.
        let prefix = env_var(name, "");
        for problem in self.config_status().skipped {
            if problem.variable.as_deref().is_some_and(|v| v.starts_with(&prefix))
                && !explained.problems.contains(&problem)
            {
                explained.problems.push(problem);
            }
        }
        // A problem of this breaker's own variables is listed once, under its problems; one of
        // another registered breaker's variables is that breaker's (a variable naming no
        // registered breaker stays: it may be a misspelling of this one), and so is a rule
        // another breaker's sections break ("breaker `p2`: invalid ...").
        let own: Vec<String> = explained.problems.iter().map(|p| format!("skipped: {p}")).collect();
        let others = self.others_variable_prefixes(name);
        let mine = [name, family_of(name).unwrap_or(name)];
        let relevant = |problem: &FileError| {
            let others_variable = problem
                .variable
                .as_deref()
                .is_some_and(|var| others.iter().any(|prefix| var.starts_with(prefix.as_str())));
            !others_variable && !problem.of_another_breaker(&mine)
        };
        explained
            .notes
            .extend(self.config_notes(relevant).into_iter().filter(|n| !own.contains(n)));
        explained
    }

    /// The `CB_BREAKER__<NAME>__` prefixes of every registered breaker and keyed family but
    /// `name` and its family.
    fn others_variable_prefixes(&self, name: &str) -> Vec<String> {
        let mine = [Some(name), family_of(name)].map(|n| n.map(|n| env_var(n, "")));
        let (plain, families) = self.name_shapes();
        plain
            .iter()
            .chain(&families)
            .map(|n| env_var(n, ""))
            .filter(|prefix| !mine.iter().flatten().any(|m| m == prefix))
            .collect()
    }

    /// What `explain` says of a name no breaker has (yet).
    fn not_registered(&self, name: &str) -> String {
        let (plain, families) = self.name_shapes();
        if families.iter().any(|f| f == name) {
            return format!(
                "`{name}` is a keyed family, not a breaker: its breakers are named `{name}/<key>`; explain `{name}/*` for what a key gets from the family's sections and variables, or `{name}/<key>` for one key"
            );
        }
        let keyed: Vec<String> = families.iter().map(|f| format!("{f}/*")).collect();
        let candidates: Vec<&str> = plain.iter().chain(&keyed).map(String::as_str).collect();
        let near = match crate::config::value::did_you_mean(name, &candidates) {
            Some(meant) => format!(" Did you mean `{meant}`?"),
            None => String::new(),
        };
        format!(
            "not registered (yet): no breaker is named `{}`; this is what the file, the environment and the built-in defaults would give it, and a `#[circuit_breaker]` function's own arguments apply from its first call.{near}",
            crate::config::value::clip(name)
        )
    }
}
