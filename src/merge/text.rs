//! Line-wise three-way merge of text (stand-in over `similar`'s merge).

pub enum TextMerge {
    Clean(String),
    Conflict { with_markers: String, conflicts: usize },
}

pub struct Labels<'a> {
    pub ours: &'a str,
    pub base: &'a str,
    pub theirs: &'a str,
}

pub fn merge(base: &str, ours: &str, theirs: &str, labels: Labels<'_>) -> TextMerge {
    let mut m = similar::TextMerge::from_lines(base, ours, theirs);
    m.labels(labels.base, labels.ours, labels.theirs);
    if m.is_conflicted() {
        TextMerge::Conflict { with_markers: m.to_string(), conflicts: m.conflict_count() }
    } else {
        TextMerge::Clean(m.to_string())
    }
}

pub fn is_mergeable_text(data: &[u8]) -> bool {
    !data.contains(&0) && std::str::from_utf8(data).is_ok()
}
