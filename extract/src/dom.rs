//! A small arena DOM built from html5ever's tokenizer (WHATWG tokenization: entities, raw
//! text elements, comments, attributes) by a simplified tree builder of our own.
//!
//! Why not html5ever's full tree builder: its "in scope" checks walk the stack of open
//! elements for every tag, so a page with a million unclosed `<div>`s takes quadratic time,
//! and recursive DOMs overflow the stack when dropped or walked. Ours caps the depth
//! ([`MAX_DEPTH`]: the page is refused beyond it, parsing stops at once), closes the
//! elements HTML closes implicitly (`p`, `li`, `td`, `tr`, `option`, …), and keeps only
//! what extraction needs: tag, `class`/`id` words, a few flags and the text.

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use std::cell::RefCell;

/// Deepest element nesting accepted; deeper pages are refused.
pub const MAX_DEPTH: usize = 1024;

/// Node index in [`Dom::nodes`]; 0 is the document root.
pub type NodeId = u32;

/// Element kinds extraction cares about; everything else is [`T::Other`] (inline) or
/// [`T::OtherBlock`].
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum T {
    Root,
    Html,
    Head,
    Body,
    Title,
    P,
    Div,
    H1,
    H2,
    H3,
    H4,
    H5,
    H6,
    Ul,
    Ol,
    Li,
    Dl,
    Dt,
    Dd,
    Table,
    Thead,
    Tbody,
    Tfoot,
    Tr,
    Td,
    Th,
    Caption,
    Pre,
    Blockquote,
    Article,
    Main,
    Section,
    Header,
    Footer,
    Nav,
    Aside,
    Form,
    Figure,
    Figcaption,
    A,
    Br,
    Hr,
    Img,
    Button,
    Input,
    Select,
    Option,
    Textarea,
    Label,
    /// script, style, template, svg, math, iframe, object, canvas, video, audio, noscript,
    /// head-only elements: never text.
    Dropped,
    /// Other block-level elements (address, details, fieldset, menu, …).
    OtherBlock,
    /// Other inline elements (span, b, em, …).
    Other,
}

impl T {
    fn of(name: &str) -> T {
        match name {
            "html" => T::Html,
            "head" => T::Head,
            "body" => T::Body,
            "title" => T::Title,
            "p" => T::P,
            "div" => T::Div,
            "h1" => T::H1,
            "h2" => T::H2,
            "h3" => T::H3,
            "h4" => T::H4,
            "h5" => T::H5,
            "h6" => T::H6,
            "ul" => T::Ul,
            "ol" => T::Ol,
            "li" => T::Li,
            "dl" => T::Dl,
            "dt" => T::Dt,
            "dd" => T::Dd,
            "table" => T::Table,
            "thead" => T::Thead,
            "tbody" => T::Tbody,
            "tfoot" => T::Tfoot,
            "tr" => T::Tr,
            "td" => T::Td,
            "th" => T::Th,
            "caption" => T::Caption,
            "pre" | "listing" | "xmp" | "plaintext" => T::Pre,
            "blockquote" => T::Blockquote,
            "article" => T::Article,
            "main" => T::Main,
            "section" => T::Section,
            "header" => T::Header,
            "footer" => T::Footer,
            "nav" => T::Nav,
            "aside" => T::Aside,
            "form" => T::Form,
            "figure" => T::Figure,
            "figcaption" => T::Figcaption,
            "a" => T::A,
            "br" => T::Br,
            "hr" => T::Hr,
            "img" => T::Img,
            "button" => T::Button,
            "input" => T::Input,
            "select" => T::Select,
            "option" | "optgroup" => T::Option,
            "textarea" => T::Textarea,
            "label" => T::Label,
            "script" | "style" | "template" | "svg" | "math" | "iframe" | "object" | "embed"
            | "canvas" | "video" | "audio" | "noscript" | "noembed" | "noframes" | "meta"
            | "link" | "base" | "datalist" | "dialog" | "map" | "picture" | "source" => T::Dropped,
            "address" | "details" | "summary" | "fieldset" | "legend" | "menu" | "center"
            | "hgroup" | "frameset" | "dir" => T::OtherBlock,
            _ => T::Other,
        }
    }

    /// Starts a new line of text.
    pub fn is_block(self) -> bool {
        !matches!(
            self,
            T::Other | T::A | T::Img | T::Input | T::Label | T::Option | T::Select | T::Button
        )
    }

    /// A heading.
    pub fn is_heading(self) -> bool {
        self.heading_level() > 0
    }

    /// 1–6 for `<h1>`…`<h6>`, else 0.
    pub fn heading_level(self) -> u8 {
        match self {
            T::H1 => 1,
            T::H2 => 2,
            T::H3 => 3,
            T::H4 => 4,
            T::H5 => 5,
            T::H6 => 6,
            _ => 0,
        }
    }
}

fn is_void(name: &str) -> bool {
    matches!(
        name,
        "area"
            | "base"
            | "br"
            | "col"
            | "embed"
            | "hr"
            | "img"
            | "input"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
            | "keygen"
    )
}

/// Element flags.
pub mod flags {
    /// `hidden`, `aria-hidden=true`, or `display:none` / `visibility:hidden` inline.
    pub const HIDDEN: u8 = 1;
    /// `itemprop="articleBody"` (schema.org).
    pub const ARTICLE_BODY: u8 = 2;
    /// `role=` navigation, banner, contentinfo, complementary, menu, search, dialog.
    pub const ROLE_BOILERPLATE: u8 = 4;
    /// `role=main` or `role=article`.
    pub const ROLE_MAIN: u8 = 8;
    /// A `<noscript>` element (its tag is [`T::Dropped`](super::T::Dropped)).
    pub const NOSCRIPT: u8 = 16;
}

/// An element or a text run.
#[derive(Debug, Clone)]
pub enum Kind {
    /// An element: its kind, lower-cased `class` and `id` words, flags.
    Element {
        /// Kind.
        tag: T,
        /// `class` and `id`, lower-cased, space-separated.
        hints: Box<str>,
        /// [`flags`].
        flags: u8,
    },
    /// Text (entities decoded, whitespace as in the source).
    Text(String),
}

/// A node.
#[derive(Debug, Clone)]
pub struct Node {
    /// Element or text.
    pub kind: Kind,
    /// Parent (the root is its own parent).
    pub parent: NodeId,
    /// Children in order.
    pub children: Vec<NodeId>,
}

/// A parsed page.
#[derive(Debug, Clone)]
pub struct Dom {
    /// All nodes; 0 is the root.
    pub nodes: Vec<Node>,
    /// `<title>` text.
    pub title: String,
    /// `<meta name="description">` (or `og:description`) content: the page's own summary,
    /// the last resort of pages whose text is all loaded by scripts.
    pub description: String,
}

/// The page nests elements deeper than [`MAX_DEPTH`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("elements nested deeper than {MAX_DEPTH}")]
pub struct TooDeep;

impl Dom {
    /// The element kind of a node (`None` for text).
    pub fn tag(&self, id: NodeId) -> Option<T> {
        match &self.nodes[id as usize].kind {
            Kind::Element { tag, .. } => Some(*tag),
            Kind::Text(_) => None,
        }
    }
}

/// The two halves of React's streamed rendering: `<template id="B:n">`/`"P:n"` marks where
/// segment `n` goes, `<div hidden id="S:n">` carries it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReactSlot {
    Placeholder,
    Segment,
}

/// `B:n`, `P:n` (placeholders) or `S:n` (segments), `n` hexadecimal or decimal digits.
fn react_slot(id: &str) -> Option<(ReactSlot, u64)> {
    let (kind, num) = id.split_once(':')?;
    let slot = match kind {
        "B" | "P" => ReactSlot::Placeholder,
        "S" => ReactSlot::Segment,
        _ => return None,
    };
    if num.is_empty() || num.len() > 12 || !num.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(num, 16).ok().map(|n| (slot, n))
}

/// The most hidden elements with an id, and the most ids disclosure buttons control, a page
/// keeps track of.
const MAX_DISCLOSURES: usize = 4096;

/// Appends `class`/`id` words lower-cased, marking camel-case word starts with `-`
/// (`articleBody` → `article-body`) so words can be matched whole.
fn push_hint_words(hints: &mut String, v: &str) {
    let mut prev_lower = false;
    for c in v.chars().take(256) {
        if c.is_ascii_uppercase() && prev_lower {
            hints.push('-');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        hints.push(c.to_ascii_lowercase());
    }
}

struct Builder {
    nodes: Vec<Node>,
    /// React segments (`S:n`) and placeholders (`B:n`, `P:n`) by number, in document order.
    react_segments: Vec<(u64, NodeId)>,
    react_placeholders: Vec<(u64, NodeId)>,
    /// Hidden elements with an `id`, and the ids that disclosure buttons control
    /// (`aria-controls` next to `aria-expanded`): collapsed panels a click opens.
    hidden_ids: Vec<(Box<str>, NodeId)>,
    disclosed: std::collections::HashSet<Box<str>>,
    stack: Vec<NodeId>,
    /// Inside script/style/…: text dropped.
    raw: bool,
    in_title: bool,
    title: String,
    description: String,
    too_deep: bool,
}

impl Builder {
    fn current(&self) -> NodeId {
        *self.stack.last().unwrap_or(&0)
    }

    /// Shows the collapsed panels that a disclosure button controls (WAI-ARIA's accordion
    /// and disclosure patterns): the browser shows them on a click, and they are the page's
    /// text (FAQ answers, a product's details), not boilerplate.
    fn show_disclosed(&mut self) {
        for (id, node) in &self.hidden_ids {
            if self.disclosed.contains(id) {
                if let Kind::Element { flags: fl, .. } = &mut self.nodes[*node as usize].kind {
                    *fl &= !flags::HIDDEN;
                }
            }
        }
    }

    /// Moves each React segment to where its placeholder stands, as React's inline script
    /// does in the browser. A segment always follows its placeholder in the document, so
    /// every parent still comes before its children in the arena.
    fn place_react_segments(&mut self) {
        for &(n, seg) in &self.react_segments {
            let Some(&(_, ph)) = self
                .react_placeholders
                .iter()
                .find(|&&(m, ph)| m == n && ph < seg)
            else {
                continue;
            };
            let old_parent = self.nodes[seg as usize].parent;
            let new_parent = self.nodes[ph as usize].parent;
            // Never move a segment into itself (a placeholder inside the segment).
            let mut a = new_parent;
            let mut inside = false;
            while a != 0 {
                if a == seg {
                    inside = true;
                    break;
                }
                a = self.nodes[a as usize].parent;
            }
            if inside || seg <= new_parent {
                continue;
            }
            self.nodes[old_parent as usize]
                .children
                .retain(|&c| c != seg);
            let siblings = &mut self.nodes[new_parent as usize].children;
            let at = siblings
                .iter()
                .position(|&c| c == ph)
                .map_or(siblings.len(), |i| i + 1);
            siblings.insert(at, seg);
            self.nodes[seg as usize].parent = new_parent;
        }
    }

    fn tag_at(&self, id: NodeId) -> T {
        match &self.nodes[id as usize].kind {
            Kind::Element { tag, .. } => *tag,
            Kind::Text(_) => T::Other,
        }
    }

    /// Pops up to and including the nearest open `target`, unless a `barrier` comes first.
    fn close(&mut self, target: &[T], barrier: &[T]) -> bool {
        for i in (0..self.stack.len()).rev() {
            let t = self.tag_at(self.stack[i]);
            if target.contains(&t) {
                self.stack.truncate(i);
                return true;
            }
            if barrier.contains(&t) {
                return false;
            }
        }
        false
    }

    fn append(&mut self, kind: Kind) -> NodeId {
        let id = self.nodes.len() as NodeId;
        let parent = self.current();
        self.nodes.push(Node {
            kind,
            parent,
            children: Vec::new(),
        });
        self.nodes[parent as usize].children.push(id);
        id
    }

    fn text(&mut self, s: &str) {
        if self.raw {
            return;
        }
        if self.in_title {
            if self.title.len() < 4096 {
                self.title.push_str(s);
            }
            return;
        }
        let parent = self.current();
        if let Some(&last) = self.nodes[parent as usize].children.last() {
            if let Kind::Text(t) = &mut self.nodes[last as usize].kind {
                t.push_str(s);
                return;
            }
        }
        self.append(Kind::Text(s.to_string()));
    }

    fn start(&mut self, tag: &Tag) -> TokenSinkResult<()> {
        let name: &str = &tag.name;
        let t = T::of(name);
        const BLOCK_BARRIER: &[T] = &[
            T::Div,
            T::Td,
            T::Th,
            T::Li,
            T::Table,
            T::Button,
            T::Article,
            T::Section,
            T::Body,
            T::Blockquote,
            T::Main,
            T::Header,
            T::Footer,
            T::Nav,
            T::Aside,
            T::Form,
        ];
        // Implied end tags.
        match t {
            T::Html | T::Body | T::Head => {
                // Only one of each; later ones merge into the first.
                if self
                    .nodes
                    .iter()
                    .take(8)
                    .any(|n| matches!(n.kind, Kind::Element { tag, .. } if tag == t))
                {
                    return TokenSinkResult::Continue;
                }
                if t == T::Body {
                    self.close(&[T::Head], &[]);
                }
            }
            T::Li => {
                self.close(&[T::Li], &[T::Ul, T::Ol, T::Body, T::Table, T::Div]);
                self.close(&[T::P], BLOCK_BARRIER);
            }
            T::Dt | T::Dd => {
                self.close(&[T::Dt, T::Dd], &[T::Dl, T::Body, T::Table, T::Div]);
                self.close(&[T::P], BLOCK_BARRIER);
            }
            T::Tr => {
                self.close(&[T::Tr], &[T::Table]);
            }
            T::Td | T::Th => {
                self.close(&[T::Td, T::Th], &[T::Tr, T::Table]);
            }
            T::Thead | T::Tbody | T::Tfoot => {
                self.close(&[T::Thead, T::Tbody, T::Tfoot], &[T::Table]);
            }
            T::Option => {
                self.close(&[T::Option], &[T::Select, T::Body]);
            }
            T::A => {
                // Nested links are not allowed: the open one closes.
                self.close(&[T::A], BLOCK_BARRIER);
            }
            _ if t.is_block() && !matches!(t, T::Dropped | T::Title | T::Caption) => {
                self.close(&[T::P], BLOCK_BARRIER);
                if t.is_heading() {
                    self.close(&[T::H1, T::H2, T::H3, T::H4, T::H5, T::H6], BLOCK_BARRIER);
                }
            }
            _ => {}
        }
        if self.raw {
            return TokenSinkResult::Continue;
        }
        if name == "meta" && self.description.is_empty() {
            let attr = |n: &str| {
                tag.attrs
                    .iter()
                    .find(|a| &*a.name.local == n)
                    .map(|a| &*a.value)
            };
            if let (Some(kind), Some(content)) =
                (attr("name").or(attr("property")), attr("content"))
            {
                if kind.eq_ignore_ascii_case("description")
                    || kind.eq_ignore_ascii_case("og:description")
                {
                    self.description = content.chars().take(4096).collect();
                }
            }
        }
        let mut hints = String::new();
        let mut fl = 0u8;
        let mut hidden_attr = false;
        let mut tab_panel = false;
        let mut react = None;
        let mut raw_id: Option<&str> = None;
        let mut controls: Option<&str> = None;
        let mut expandable = false;
        for a in &tag.attrs {
            let k: &str = &a.name.local;
            let v: &str = &a.value;
            match k {
                "class" | "id" => {
                    if !hints.is_empty() {
                        hints.push(' ');
                    }
                    push_hint_words(&mut hints, v);
                    if k == "id" {
                        react = react_slot(v);
                        raw_id = Some(v);
                    }
                }
                // `until-found` content is revealed by find-in-page and fragment links: the
                // browser treats it as part of the page.
                "hidden" if !v.eq_ignore_ascii_case("until-found") => hidden_attr = true,
                "aria-hidden" if v.eq_ignore_ascii_case("true") => fl |= flags::HIDDEN,
                "style" => {
                    let s: String = v
                        .chars()
                        .filter(|c| !c.is_whitespace())
                        .map(|c| c.to_ascii_lowercase())
                        .collect();
                    if s.contains("display:none") || s.contains("visibility:hidden") {
                        fl |= flags::HIDDEN;
                    }
                }
                "itemprop" if v.eq_ignore_ascii_case("articlebody") => fl |= flags::ARTICLE_BODY,
                "aria-controls" => controls = Some(v),
                "aria-expanded" => expandable = true,
                "role" => match v.to_ascii_lowercase().as_str() {
                    "navigation" | "banner" | "contentinfo" | "complementary" | "menu"
                    | "menubar" | "search" | "dialog" | "alert" => fl |= flags::ROLE_BOILERPLATE,
                    "main" | "article" => fl |= flags::ROLE_MAIN,
                    "tabpanel" => tab_panel = true,
                    _ => {}
                },
                _ => {}
            }
        }
        // React's streamed server rendering sends each suspended segment as
        // `<div hidden id="S:n">` that a script moves into its placeholder and shows: the
        // browser's page has it, so it is not hidden here (and is moved after parsing).
        match react {
            Some((ReactSlot::Segment, n)) if hidden_attr => {
                self.react_segments.push((n, self.nodes.len() as NodeId));
            }
            Some((ReactSlot::Placeholder, n)) if t == T::Dropped => {
                self.react_placeholders
                    .push((n, self.nodes.len() as NodeId));
            }
            _ if hidden_attr => fl |= flags::HIDDEN,
            _ => {}
        }
        // A tab panel is hidden until its tab is clicked: the page's content all the same
        // (the same steps for another language or system), not boilerplate.
        if tab_panel {
            fl &= !flags::HIDDEN;
        }
        if let (true, Some(c)) = (expandable, controls) {
            // An accordion's or a "read more" button's panel: its content is the page's.
            // (Both tables are capped: memory stays bounded on hostile pages.)
            if self.disclosed.len() < MAX_DISCLOSURES {
                self.disclosed.extend(
                    c.split_ascii_whitespace()
                        .take(16)
                        .map(|w| w.to_owned().into_boxed_str()),
                );
            }
        }
        if let (true, Some(i)) = (fl & flags::HIDDEN != 0, raw_id) {
            if self.hidden_ids.len() < MAX_DISCLOSURES {
                self.hidden_ids
                    .push((i.to_owned().into_boxed_str(), self.nodes.len() as NodeId));
            }
        }
        if name == "noscript" {
            fl |= flags::NOSCRIPT;
        }
        let id = self.append(Kind::Element {
            tag: t,
            hints: hints.into_boxed_str(),
            flags: fl,
        });
        let void = is_void(name) || (tag.self_closing && t != T::Div && t != T::P);
        let result = match name {
            "script" => TokenSinkResult::RawData(RawKind::ScriptData),
            "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
                TokenSinkResult::RawData(RawKind::Rawtext)
            }
            "textarea" | "title" => TokenSinkResult::RawData(RawKind::Rcdata),
            "plaintext" => TokenSinkResult::Plaintext,
            _ => TokenSinkResult::Continue,
        };
        if !void {
            if self.stack.len() >= MAX_DEPTH {
                self.too_deep = true;
                return TokenSinkResult::Continue;
            }
            self.stack.push(id);
            match name {
                "script" | "style" | "xmp" | "iframe" | "noembed" | "noframes" | "textarea" => {
                    self.raw = true
                }
                "title" => self.in_title = true,
                _ => {}
            }
        }
        result
    }

    fn end(&mut self, tag: &Tag) {
        let name: &str = &tag.name;
        if self.raw || self.in_title {
            // Only the matching end tag leaves raw text (the tokenizer guarantees that).
            self.raw = false;
            self.in_title = false;
            self.stack.pop();
            return;
        }
        let t = T::of(name);
        match t {
            T::Html | T::Body | T::Head => {
                if t == T::Head {
                    self.close(&[T::Head], &[]);
                }
            }
            T::Br => {
                self.append(Kind::Element {
                    tag: T::Br,
                    hints: "".into(),
                    flags: 0,
                });
            }
            T::Other | T::Dropped => {
                // Match by name among elements of the same generic kind: look up to 64
                // levels for an element of that kind (names of "other" elements are not
                // stored; closing the nearest one is what browsers do for formatting tags).
                let limit = self.stack.len().saturating_sub(64);
                for i in (limit..self.stack.len()).rev() {
                    let tt = self.tag_at(self.stack[i]);
                    if tt == t {
                        self.stack.truncate(i);
                        break;
                    }
                    if tt.is_block() && t == T::Other {
                        break;
                    }
                }
            }
            _ => {
                self.close(&[t], &[]);
            }
        }
    }
}

struct Sink(RefCell<Builder>);

impl TokenSink for Sink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        let mut b = self.0.borrow_mut();
        if b.too_deep {
            return TokenSinkResult::Continue;
        }
        match token {
            Token::TagToken(tag) => match tag.kind {
                TagKind::StartTag => return b.start(&tag),
                TagKind::EndTag => b.end(&tag),
            },
            Token::CharacterTokens(s) => b.text(&s),
            Token::NullCharacterToken
            | Token::CommentToken(_)
            | Token::DoctypeToken(_)
            | Token::EOFToken
            | Token::ParseError(_) => {}
        }
        TokenSinkResult::Continue
    }
}

/// Parses a page.
pub fn parse(html: &str) -> Result<Dom, TooDeep> {
    let builder = Builder {
        nodes: vec![Node {
            kind: Kind::Element {
                tag: T::Root,
                hints: "".into(),
                flags: 0,
            },
            parent: 0,
            children: Vec::new(),
        }],
        stack: Vec::with_capacity(64),
        react_segments: Vec::new(),
        react_placeholders: Vec::new(),
        hidden_ids: Vec::new(),
        disclosed: std::collections::HashSet::new(),
        raw: false,
        in_title: false,
        title: String::new(),
        description: String::new(),
        too_deep: false,
    };
    let tok = Tokenizer::new(Sink(RefCell::new(builder)), TokenizerOpts::default());
    let queue = BufferQueue::default();
    // Feed in slices so a too-deep page stops early instead of tokenizing everything.
    let mut rest = html;
    while !rest.is_empty() {
        // Up to the next char boundary at or after 64 KiB (the end of `rest` is one).
        let mut cut = rest.len().min(64 * 1024);
        let (head, tail) = loop {
            match rest.split_at_checked(cut) {
                Some(split) => break split,
                None => cut += 1,
            }
        };
        queue.push_back(StrTendril::from_slice(head));
        rest = tail;
        let _ = tok.feed(&queue);
        if tok.sink.0.borrow().too_deep {
            return Err(TooDeep);
        }
    }
    tok.end();
    let mut b = tok.sink.0.into_inner();
    if b.too_deep {
        return Err(TooDeep);
    }
    b.place_react_segments();
    b.show_disclosed();
    Ok(Dom {
        nodes: b.nodes,
        title: b.title.split_whitespace().collect::<Vec<_>>().join(" "),
        description: b
            .description
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_and_closes_implicitly() {
        let d = parse("<p>one<p>two &amp; <b>three</b><ul><li>a<li>b</ul><script>x<y</script>")
            .unwrap();
        let texts: Vec<&str> = d
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                Kind::Text(t) => Some(t.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["one", "two & ", "three", "a", "b"]);
        // p's are siblings, not nested.
        let ps: Vec<_> = (0..d.nodes.len() as u32)
            .filter(|&i| d.tag(i) == Some(T::P))
            .collect();
        assert_eq!(
            d.nodes[ps[0] as usize].parent,
            d.nodes[ps[1] as usize].parent
        );
    }

    #[test]
    fn refuses_deep_nesting_quickly() {
        let html = "<div>".repeat(200_000);
        let t = std::time::Instant::now();
        assert_eq!(parse(&html).unwrap_err(), TooDeep);
        assert!(t.elapsed().as_secs() < 5);
        // Unclosed inline tags nest too.
        assert!(parse(&"<b>x".repeat(5000)).is_err());
        assert!(parse(&"<b>x</b>".repeat(5000)).is_ok());
    }
}
