//! A validator for the part of XML Schema 1.0 that the JUnit schemas are
//! written in, read from the XSD file itself, so that a CI machine with
//! nothing but cargo checks documents against the schema rather than
//! against a copy of it in Rust.
//!
//! The model: a schema is a set of global element declarations, named
//! complex types and named simple types. An element is valid when its
//! attributes are among those its type declares, every required one is
//! there and each value matches its simple type (`xs:string`, or a
//! restriction of it by `xs:pattern`s, anchored at both ends as XSD
//! patterns are); when its child elements, in order, are a word of its
//! type's content model (`xs:sequence` and `xs:choice` with `minOccurs`
//! and `maxOccurs`, over element declarations and references); when it has
//! no text unless its type is mixed or simple; and when each child is valid
//! against the declaration it matched.
//!
//! Anything in the XSD outside that part (`xs:all`, `xs:any`, groups,
//! derivation, a `default`, a namespace...) is refused when the schema is
//! read, naming what it met: a schema the validator only partly understood
//! could pass documents it should reject.

use std::collections::{BTreeMap, BTreeSet};

use roxmltree::Node;

const XS: &str = "http://www.w3.org/2001/XMLSchema";

/// The schema, read from an XSD.
pub struct Schema {
    elements: BTreeMap<String, Element>,
    complex_types: BTreeMap<String, ComplexType>,
    simple_types: BTreeMap<String, SimpleType>,
}

#[derive(Clone)]
struct Element {
    name: String,
    ty: TypeRef,
}

#[derive(Clone)]
enum TypeRef {
    /// `xs:string` or a named simple type.
    Simple(String),
    /// A named complex type.
    Complex(String),
    /// An anonymous complex type.
    Anonymous(Box<ComplexType>),
}

#[derive(Clone)]
struct ComplexType {
    mixed: bool,
    content: Option<Particle>,
    attributes: Vec<Attribute>,
}

#[derive(Clone)]
struct Attribute {
    name: String,
    /// `xs:string` or a named simple type.
    ty: String,
    required: bool,
}

/// A restriction of `xs:string` by patterns, any of which may match.
struct SimpleType {
    patterns: Vec<regex::Regex>,
}

#[derive(Clone)]
struct Particle {
    term: Term,
    min: u32,
    /// `None` is `unbounded`.
    max: Option<u32>,
}

#[derive(Clone)]
enum Term {
    /// A local declaration, or a reference to a global one (resolved when
    /// matched).
    Element(ElementUse),
    Sequence(Vec<Particle>),
    Choice(Vec<Particle>),
}

#[derive(Clone)]
enum ElementUse {
    Local(Element),
    Ref(String),
}

/// Refuses what the validator does not understand.
fn unsupported(node: Node, what: &str) -> ! {
    panic!(
        "the XSD: {what} on <xs:{}> (line {}) is not supported by tests/junit/xsd.rs",
        node.tag_name().name(),
        node.document().text_pos_at(node.range().start).row
    )
}

fn xs_children<'a, 'i>(node: Node<'a, 'i>) -> impl Iterator<Item = Node<'a, 'i>> {
    node.children().filter(|c| c.is_element()).inspect(|c| {
        if c.tag_name().namespace() != Some(XS) {
            unsupported(*c, "an element outside the XSD namespace");
        }
    })
}

/// Refuses any attribute of `node` not in `allowed`.
fn only_attributes(node: Node, allowed: &[&str]) {
    for a in node.attributes() {
        if a.namespace().is_some() || !allowed.contains(&a.name()) {
            unsupported(node, &format!("attribute `{}`", a.name()));
        }
    }
}

/// A type name in the schema's own terms: builtins keep their `xs:`.
fn type_name(node: Node, value: &str) -> String {
    match value.split_once(':') {
        Some((prefix, local)) if node.lookup_namespace_uri(Some(prefix)) == Some(XS) => {
            if local != "string" {
                unsupported(node, &format!("the built-in type `{value}`"));
            }
            "xs:string".to_string()
        }
        Some(_) => unsupported(node, &format!("the qualified type name `{value}`")),
        None => value.to_string(),
    }
}

fn occurs(node: Node) -> (u32, Option<u32>) {
    let number = |name: &str, value: &str| -> u32 {
        value
            .parse()
            .unwrap_or_else(|_| unsupported(node, &format!("{name}=\"{value}\"")))
    };
    let min = node
        .attribute("minOccurs")
        .map_or(1, |v| number("minOccurs", v));
    let max = match node.attribute("maxOccurs") {
        None => Some(1),
        Some("unbounded") => None,
        Some(v) => Some(number("maxOccurs", v)),
    };
    (min, max)
}

impl Schema {
    /// Reads an XSD; panics on anything outside the supported part.
    pub fn parse(xsd: &str) -> Self {
        let doc = roxmltree::Document::parse(xsd).expect("the XSD is well-formed XML");
        let root = doc.root_element();
        assert!(
            root.tag_name().namespace() == Some(XS) && root.tag_name().name() == "schema",
            "the XSD: the root is not <xs:schema>"
        );
        only_attributes(root, &[]);
        let mut schema = Schema {
            elements: BTreeMap::new(),
            complex_types: BTreeMap::new(),
            simple_types: BTreeMap::new(),
        };
        for node in xs_children(root) {
            let name = node
                .attribute("name")
                .unwrap_or_else(|| unsupported(node, "a global declaration without a name"))
                .to_string();
            match node.tag_name().name() {
                "element" => {
                    only_attributes(node, &["name", "type"]);
                    let element = Self::element(node);
                    schema.elements.insert(name, element);
                }
                "complexType" => {
                    let ty = Self::complex_type(node);
                    schema.complex_types.insert(name, ty);
                }
                "simpleType" => {
                    let ty = Self::simple_type(node);
                    schema.simple_types.insert(name, ty);
                }
                other => unsupported(node, &format!("the declaration <xs:{other}>")),
            }
        }
        schema.check_references();
        schema
    }

    /// An `<xs:element name=...>` with a `type` or an anonymous complex type.
    fn element(node: Node) -> Element {
        let name = node.attribute("name").unwrap().to_string();
        let mut children = xs_children(node);
        let ty = match (node.attribute("type"), children.next()) {
            (Some(ty), None) => match type_name(node, ty) {
                t if t == "xs:string" => TypeRef::Simple(t),
                t => TypeRef::Complex(t), // resolved as either in check_references
            },
            (None, Some(c)) if c.tag_name().name() == "complexType" => {
                TypeRef::Anonymous(Box::new(Self::complex_type(c)))
            }
            _ => unsupported(node, "an element without exactly one type"),
        };
        if let Some(extra) = children.next() {
            unsupported(extra, "a second type of one element");
        }
        Element { name, ty }
    }

    fn complex_type(node: Node) -> ComplexType {
        only_attributes(node, &["name", "mixed"]);
        let mixed = match node.attribute("mixed") {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => unsupported(node, &format!("mixed=\"{v}\"")),
        };
        let mut content = None;
        let mut attributes = Vec::new();
        for c in xs_children(node) {
            match c.tag_name().name() {
                "sequence" | "choice" if content.is_none() && attributes.is_empty() => {
                    content = Some(Self::particle(c));
                }
                "attribute" => {
                    only_attributes(c, &["name", "type", "use"]);
                    if xs_children(c).next().is_some() {
                        unsupported(c, "an anonymous attribute type");
                    }
                    attributes.push(Attribute {
                        name: c
                            .attribute("name")
                            .unwrap_or_else(|| unsupported(c, "an attribute without a name"))
                            .to_string(),
                        ty: type_name(c, c.attribute("type").unwrap_or("xs:string")),
                        required: match c.attribute("use") {
                            None | Some("optional") => false,
                            Some("required") => true,
                            Some(v) => unsupported(c, &format!("use=\"{v}\"")),
                        },
                    });
                }
                other => unsupported(c, &format!("<xs:{other}> here")),
            }
        }
        ComplexType {
            mixed,
            content,
            attributes,
        }
    }

    fn particle(node: Node) -> Particle {
        let (min, max) = occurs(node);
        let term = match node.tag_name().name() {
            "element" => {
                only_attributes(node, &["name", "type", "ref", "minOccurs", "maxOccurs"]);
                match (node.attribute("ref"), node.attribute("name")) {
                    (Some(r), None) if !r.contains(':') => Term::Element(ElementUse::Ref(r.into())),
                    (None, Some(_)) => Term::Element(ElementUse::Local(Self::element(node))),
                    _ => unsupported(node, "an element with neither a name nor a ref"),
                }
            }
            group @ ("sequence" | "choice") => {
                only_attributes(node, &["minOccurs", "maxOccurs"]);
                let items = xs_children(node).map(Self::particle).collect();
                if group == "sequence" {
                    Term::Sequence(items)
                } else {
                    Term::Choice(items)
                }
            }
            other => unsupported(node, &format!("the particle <xs:{other}>")),
        };
        Particle { term, min, max }
    }

    fn simple_type(node: Node) -> SimpleType {
        only_attributes(node, &["name"]);
        let mut children = xs_children(node);
        let restriction = match children.next() {
            Some(r) if r.tag_name().name() == "restriction" && children.next().is_none() => r,
            _ => unsupported(node, "a simple type other than one restriction"),
        };
        only_attributes(restriction, &["base"]);
        if type_name(restriction, restriction.attribute("base").unwrap_or("")) != "xs:string" {
            unsupported(restriction, "a base other than xs:string");
        }
        let patterns = xs_children(restriction)
            .map(|facet| {
                only_attributes(facet, &["value"]);
                if facet.tag_name().name() != "pattern" {
                    unsupported(facet, "a facet other than xs:pattern");
                }
                let pattern = facet.attribute("value").unwrap_or("");
                // Where XSD's regular expressions differ from the regex
                // crate's: the name escapes and class subtraction.
                for xsd_only in ["\\i", "\\I", "\\c", "\\C", "-["] {
                    if pattern.contains(xsd_only) {
                        unsupported(facet, &format!("`{xsd_only}` in a pattern"));
                    }
                }
                regex::Regex::new(&format!("^(?:{pattern})$"))
                    .unwrap_or_else(|e| unsupported(facet, &format!("the pattern: {e}")))
            })
            .collect();
        SimpleType { patterns }
    }

    /// Every type and reference names a declaration: resolves the type
    /// names of elements read before the simple types were known.
    fn check_references(&mut self) {
        let simple: BTreeSet<String> = self.simple_types.keys().cloned().collect();
        let resolve = |ty: &mut TypeRef| {
            if let TypeRef::Complex(name) = ty
                && simple.contains(name.as_str())
            {
                *ty = TypeRef::Simple(name.clone());
            }
        };
        fn walk(p: &mut Particle, resolve: &dyn Fn(&mut TypeRef), refs: &mut Vec<String>) {
            match &mut p.term {
                Term::Element(ElementUse::Local(e)) => resolve(&mut e.ty),
                Term::Element(ElementUse::Ref(r)) => refs.push(r.clone()),
                Term::Sequence(items) | Term::Choice(items) => {
                    for item in items {
                        walk(item, resolve, refs);
                    }
                }
            }
        }
        let mut refs = Vec::new();
        let mut types = Vec::new();
        for e in self.elements.values_mut() {
            resolve(&mut e.ty);
        }
        for e in self.elements.values_mut() {
            if let TypeRef::Anonymous(t) = &mut e.ty {
                types.push(&mut **t);
            }
        }
        types.extend(self.complex_types.values_mut());
        for t in types {
            for a in &t.attributes {
                assert!(
                    a.ty == "xs:string" || simple.contains(&a.ty),
                    "the XSD: attribute `{}` has the unknown type `{}`",
                    a.name,
                    a.ty
                );
            }
            if let Some(p) = &mut t.content {
                walk(p, &resolve, &mut refs);
            }
        }
        for e in self.elements.values() {
            if let TypeRef::Complex(name) = &e.ty {
                assert!(
                    self.complex_types.contains_key(name),
                    "the XSD: element `{}` has the unknown type `{name}`",
                    e.name
                );
            }
        }
        for r in refs {
            assert!(
                self.elements.contains_key(&r),
                "the XSD: a reference to the undeclared element `{r}`"
            );
        }
    }

    /// Every way `doc` breaks the schema, as `path: problem` lines; empty
    /// when it is valid.
    pub fn validate(&self, doc: &str) -> Vec<String> {
        let doc = match roxmltree::Document::parse(doc) {
            Ok(doc) => doc,
            Err(e) => return vec![format!("not well-formed XML: {e}")],
        };
        let root = doc.root_element();
        let mut errors = Vec::new();
        let name = root.tag_name().name();
        match self.elements.get(name) {
            Some(decl) if root.tag_name().namespace().is_none() => {
                self.element_valid(root, decl, name, &mut errors)
            }
            _ => errors.push(format!(
                "{name}: not a global element of the schema ({})",
                self.elements.keys().cloned().collect::<Vec<_>>().join(", ")
            )),
        }
        errors
    }

    fn element_valid(&self, node: Node, decl: &Element, path: &str, errors: &mut Vec<String>) {
        let ty = match &decl.ty {
            TypeRef::Simple(name) => {
                for a in node.attributes() {
                    errors.push(format!("{path}: attribute `{}` is not allowed", a.name()));
                }
                if node.children().any(|c| c.is_element()) {
                    errors.push(format!("{path}: has child elements; its type is {name}"));
                }
                let text: String = node.children().filter_map(|c| c.text()).collect();
                self.simple_valid(name, &text, path, errors);
                return;
            }
            TypeRef::Complex(name) => &self.complex_types[name],
            TypeRef::Anonymous(ty) => ty,
        };
        let declared: BTreeSet<&str> = ty.attributes.iter().map(|a| a.name.as_str()).collect();
        for a in node.attributes() {
            if a.namespace().is_some() || !declared.contains(a.name()) {
                errors.push(format!(
                    "{path}: attribute `{}` is not allowed (allowed: {})",
                    a.name(),
                    ty.attributes
                        .iter()
                        .map(|a| a.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        for a in &ty.attributes {
            match node.attribute(a.name.as_str()) {
                Some(value) => {
                    self.simple_valid(&a.ty, value, &format!("{path}/@{}", a.name), errors)
                }
                None if a.required => errors.push(format!(
                    "{path}: the required attribute `{}` is missing",
                    a.name
                )),
                None => {}
            }
        }
        if !ty.mixed
            && let Some(text) = node
                .children()
                .filter_map(|c| c.is_text().then(|| c.text()).flatten())
                .find(|t| !t.trim().is_empty())
        {
            errors.push(format!(
                "{path}: text {text:?} in an element that is not mixed"
            ));
        }
        let children: Vec<Node> = node.children().filter(|c| c.is_element()).collect();
        let names: Vec<&str> = children.iter().map(|c| c.tag_name().name()).collect();
        let mut local = BTreeMap::new();
        if let Some(p) = &ty.content {
            self.declarations(p, &mut local);
        }
        let mut matched = true;
        for (i, (child, name)) in children.iter().zip(&names).enumerate() {
            let child_path = format!("{path}/{name}[{}]", i + 1);
            match local.get(*name) {
                Some(decl) if child.tag_name().namespace().is_none() => {
                    self.element_valid(*child, decl, &child_path, errors)
                }
                _ => {
                    matched = false;
                    errors.push(format!(
                        "{child_path}: element `{name}` is not allowed in `{}` (allowed: {})",
                        decl.name,
                        local.keys().copied().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        }
        let accepted = match &ty.content {
            None => names.is_empty(),
            Some(p) => self.ends(p, &names, 0).contains(&names.len()),
        };
        if matched && !accepted {
            errors.push(format!(
                "{path}: the children ({}) are not in an order or number `{}` allows",
                names.join(", "),
                decl.name
            ));
        }
    }

    fn simple_valid(&self, ty: &str, value: &str, path: &str, errors: &mut Vec<String>) {
        if ty == "xs:string" {
            return;
        }
        let t = &self.simple_types[ty];
        if !t.patterns.iter().any(|p| p.is_match(value)) {
            errors.push(format!("{path}: {value:?} does not match the type {ty}"));
        }
    }

    /// The element declarations a content model can match, by name.
    fn declarations<'a>(&'a self, p: &'a Particle, out: &mut BTreeMap<&'a str, &'a Element>) {
        match &p.term {
            Term::Element(use_) => {
                let decl = self.declaration(use_);
                out.insert(decl.name.as_str(), decl);
            }
            Term::Sequence(items) | Term::Choice(items) => {
                for item in items {
                    self.declarations(item, out);
                }
            }
        }
    }

    fn declaration<'a>(&'a self, use_: &'a ElementUse) -> &'a Element {
        match use_ {
            ElementUse::Local(e) => e,
            ElementUse::Ref(r) => &self.elements[r],
        }
    }

    /// Every position in `names` at which a match of `p` begun at `start`
    /// can end.
    fn ends(&self, p: &Particle, names: &[&str], start: usize) -> BTreeSet<usize> {
        let once = |at: usize| -> BTreeSet<usize> {
            match &p.term {
                Term::Element(use_) => {
                    let name = self.declaration(use_).name.as_str();
                    (names.get(at) == Some(&name))
                        .then_some(at + 1)
                        .into_iter()
                        .collect()
                }
                Term::Sequence(items) => items.iter().fold(BTreeSet::from([at]), |from, item| {
                    from.iter()
                        .flat_map(|&q| self.ends(item, names, q))
                        .collect()
                }),
                Term::Choice(items) => items
                    .iter()
                    .flat_map(|item| self.ends(item, names, at))
                    .collect(),
            }
        };
        let mut out = BTreeSet::new();
        if p.min == 0 {
            out.insert(start);
        }
        let mut current = BTreeSet::from([start]);
        let mut k = 0u32;
        while p.max.is_none_or(|max| k < max) && !current.is_empty() {
            let next: BTreeSet<usize> = current.iter().flat_map(|&q| once(q)).collect();
            k += 1;
            if k >= p.min {
                let before = out.len();
                out.extend(next.iter().copied());
                // Unbounded: once a repetition adds no end, none will.
                if p.max.is_none() && k > p.min && out.len() == before {
                    break;
                }
            }
            current = next;
        }
        out
    }
}
