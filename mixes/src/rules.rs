//! loam's structured filter rules: `{rule, attribute, op, value}`. Unlike free-form jq or
//! JSONPath, every decision carries the rule, the value it saw and the threshold, so the
//! ledger can say exactly why a document left.

use loam_pipeline::config::{index, join, Problems};
use loam_pipeline::document::Span;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Op {
    /// value < threshold
    Lt,
    /// value <= threshold
    Le,
    /// value > threshold
    Gt,
    /// value >= threshold
    Ge,
    /// value == threshold
    Eq,
    /// value != threshold
    Ne,
    /// the attribute has at least one span (no threshold)
    Exists,
}

/// Drop a document when `attribute`'s value satisfies `op value`. The value of a span-list
/// attribute is the score of its first span (dolma configs' `[0][2]`); a document without
/// the attribute never matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Name used in counts, ledgers and reports.
    pub rule: String,
    /// Full attribute key, e.g. `exp__gopher_v1__word_count`.
    pub attribute: String,
    /// The comparison.
    pub op: Op,
    /// The threshold (absent for `exists`).
    #[serde(default)]
    pub value: Option<f64>,
}

/// Why a document was dropped.
#[derive(Debug, Clone, PartialEq)]
pub struct Decision<'r> {
    /// The rule that decided.
    pub rule: &'r Rule,
    /// The value it saw (`None` for `exists`).
    pub value: Option<f64>,
}

/// The value of an attribute: the first span's score, or a bare number.
pub fn attribute_value(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::Array(spans) => spans
            .first()
            .and_then(|s| s.as_array())
            .and_then(|s| s.get(2))
            .and_then(Value::as_f64),
        _ => None,
    }
}

impl Rule {
    /// Whether the rule fires on these attributes, with the value it saw.
    pub fn fires(&self, attributes: &Map<String, Value>) -> Option<Decision<'_>> {
        let v = attributes.get(&self.attribute)?;
        if self.op == Op::Exists {
            let present = match v {
                Value::Array(a) => !a.is_empty(),
                Value::Null => false,
                _ => true,
            };
            return present.then_some(Decision {
                rule: self,
                value: None,
            });
        }
        let x = attribute_value(v)?;
        self.compare(x).then_some(Decision {
            rule: self,
            value: Some(x),
        })
    }

    /// Whether the rule fires on an attribute's spans as a tagger made them, before they are
    /// written: the decision [`Rule::fires`] makes on the written attribute (the value is the
    /// first span's score; `exists` wants a span).
    pub fn fires_on_spans(&self, spans: Option<&[Span]>) -> bool {
        match (spans, self.op) {
            (None, _) => false,
            (Some(s), Op::Exists) => !s.is_empty(),
            (Some(s), _) => s.first().is_some_and(|s| self.compare(s.score)),
        }
    }

    /// `value op threshold` (false without a threshold, and for `exists`).
    fn compare(&self, x: f64) -> bool {
        let Some(t) = self.value else {
            return false;
        };
        match self.op {
            Op::Lt => x < t,
            Op::Le => x <= t,
            Op::Gt => x > t,
            Op::Ge => x >= t,
            Op::Eq => x == t,
            Op::Ne => x != t,
            Op::Exists => false,
        }
    }
}

/// The first rule (in config order) that fires decides.
pub fn first_match<'r>(rules: &'r [Rule], attributes: &Map<String, Value>) -> Option<Decision<'r>> {
    rules.iter().find_map(|r| r.fires(attributes))
}

/// Checks a rule list; `path` is the list's field path.
pub fn validate_rules(rules: &[Rule], path: &str, problems: &mut Problems) {
    let mut names = std::collections::BTreeSet::new();
    for (i, r) in rules.iter().enumerate() {
        let p = index(path, i);
        if r.rule.trim().is_empty() {
            problems.push(join(&p, "rule"), "rule name is empty");
        } else if !names.insert(r.rule.as_str()) {
            problems.push(
                join(&p, "rule"),
                format!("duplicate rule name `{}`", r.rule),
            );
        }
        if r.attribute.trim().is_empty() {
            problems.push(join(&p, "attribute"), "attribute is empty");
        }
        match (r.op, r.value) {
            (Op::Exists, Some(_)) => problems.push(join(&p, "value"), "`exists` takes no value"),
            (Op::Exists, None) => {}
            (_, None) => problems.push(join(&p, "value"), "a comparison needs a value"),
            (_, Some(v)) if !v.is_finite() => {
                problems.push(join(&p, "value"), "not a finite number")
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(s: &str) -> Map<String, Value> {
        serde_json::from_str(s).unwrap()
    }

    #[test]
    fn first_rule_decides_with_value() {
        let rules: Vec<Rule> = serde_json::from_str(
            r#"[{"rule":"short","attribute":"len","op":"lt","value":10},
                {"rule":"dup","attribute":"dup","op":"exists"}]"#,
        )
        .unwrap();
        let d = first_match(&rules, &attrs(r#"{"len":[[0,5,5]],"dup":[[0,5,1]]}"#)).unwrap();
        assert_eq!(d.rule.rule, "short");
        assert_eq!(d.value, Some(5.0));
        let d = first_match(&rules, &attrs(r#"{"len":[[0,50,50]],"dup":[[0,5,1]]}"#)).unwrap();
        assert_eq!(d.rule.rule, "dup");
        assert!(first_match(&rules, &attrs(r#"{"len":[[0,50,50]],"dup":[]}"#)).is_none());
        assert!(first_match(&rules, &attrs(r#"{}"#)).is_none());
    }

    #[test]
    fn validation_names_fields() {
        let rules: Vec<Rule> = serde_json::from_str(
            r#"[{"rule":"a","attribute":"x","op":"lt"},{"rule":"a","attribute":"","op":"exists","value":1}]"#,
        )
        .unwrap();
        let mut p = Problems::default();
        validate_rules(&rules, "mix.drop", &mut p);
        let paths: Vec<String> = p.into_vec().into_iter().map(|p| p.path).collect();
        assert_eq!(
            paths,
            [
                "mix.drop[0].value",
                "mix.drop[1].rule",
                "mix.drop[1].attribute",
                "mix.drop[1].value"
            ]
        );
    }
}
