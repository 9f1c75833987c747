//! Rule ids in reasons. The code states a reason with the rule it implements (`... (rule Q18)`), so tests and
//! docs/rules.md can follow it; what a client or operator reads drops the id and explains itself.

/// A reason as the code states it, with its rule id (`... (rule Q18)`, for tests and the rules in docs/rules.md),
/// without the id: what a client reads explains itself.
pub fn without_rule_id(why: &str) -> &str {
    match why.find(" (rule") {
        Some(i) if why.ends_with(')') => &why[..i],
        _ => why,
    }
}
