//! The module graph of a crate, read from its sources with `syn`, and the circles in it.
//!
//! A module depends on another when its non-test code names it: a `use` (re-exports included) or a path in
//! code (`crate::a::b::Item`, `super::x`, `self::child::f`, or a child module's name). A path is resolved to
//! the module that defines the item, following re-exports, so a facade `pub use child::Item` in a parent does
//! not make every user of `crate::parent::Item` depend on the parent. A child that uses an item defined in its
//! parent's own file depends on the parent; a parent's `mod child;` alone is not a dependency.
//!
//! This is our own check rather than a tool such as `cargo-modules`: that one builds rust-analyzer (minutes of
//! CPU on every CI run) to answer a question that a parse of `use` items and paths answers.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use syn::visit::Visit;

/// A module's path from the crate root (`[]` is the root).
pub type ModPath = Vec<String>;

/// What one module declares and uses.
#[derive(Debug, Default)]
struct Module {
    file: PathBuf,
    children: BTreeSet<String>,
    /// Names of items defined here (functions, types, constants, traits, macros).
    defines: BTreeSet<String>,
    /// `use` items that bring a name into this module: the name, and the absolute path it names.
    imports: Vec<(String, ModPath)>,
    /// Glob imports (`use a::b::*`): the absolute path of the module globbed.
    globs: Vec<ModPath>,
    /// Every absolute path this module names (before resolution to a module).
    named: Vec<ModPath>,
}

/// The modules of one crate and what each depends on.
#[derive(Debug, Default)]
pub struct ModuleGraph {
    modules: BTreeMap<ModPath, Module>,
}

/// A dependency between two modules and one path that makes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Edge {
    /// The module that names the other.
    pub from: ModPath,
    /// The module named.
    pub to: ModPath,
    /// One path, as written after resolution, that makes the edge.
    pub via: String,
}

/// Display form of a module path (`crate` for the root).
pub fn display(path: &[String]) -> String {
    if path.is_empty() {
        "crate".to_string()
    } else {
        path.join("::")
    }
}

impl ModuleGraph {
    /// Reads the crate whose root file is `root` (a `lib.rs` or `main.rs`).
    pub fn read(root: &Path) -> Result<Self, String> {
        let mut graph = Self::default();
        graph.read_file(
            root,
            Vec::new(),
            root.parent().map(Path::to_path_buf).unwrap_or_default(),
        )?;
        Ok(graph)
    }

    fn read_file(&mut self, file: &Path, path: ModPath, child_dir: PathBuf) -> Result<(), String> {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let parsed = syn::parse_file(&text).map_err(|e| format!("{}: {e}", file.display()))?;
        self.read_items(&parsed.items, file, path, &child_dir)
    }

    fn read_items(
        &mut self,
        items: &[syn::Item],
        file: &Path,
        path: ModPath,
        child_dir: &Path,
    ) -> Result<(), String> {
        let mut module = Module {
            file: file.to_path_buf(),
            ..Module::default()
        };
        let mut nested = Vec::new();
        for item in items {
            if is_test_only(item_attrs(item)) {
                continue;
            }
            match item {
                syn::Item::Mod(m) => {
                    let name = m.ident.to_string();
                    module.children.insert(name.clone());
                    nested.push(m);
                }
                syn::Item::Use(u) => {
                    let mut flat = Vec::new();
                    flatten_use(&u.tree, Vec::new(), &mut flat);
                    for (segments, name) in flat {
                        match name {
                            Some(name) => module.imports.push((name, segments)),
                            None => module.globs.push(segments),
                        }
                    }
                }
                other => {
                    if let Some(name) = item_name(other) {
                        module.defines.insert(name);
                    }
                    let mut paths = PathCollector::default();
                    paths.visit_item(other);
                    module.named.extend(paths.paths);
                }
            }
        }
        self.modules.insert(path.clone(), module);
        for m in nested {
            let name = m.ident.to_string();
            let mut child_path = path.clone();
            child_path.push(name.clone());
            match &m.content {
                Some((_, items)) => {
                    self.read_items(items, file, child_path, &child_dir.join(&name))?;
                }
                None => {
                    let (child_file, grandchild_dir) = match path_attr(&m.attrs) {
                        Some(p) => {
                            let f = child_dir.join(p);
                            let dir = f.parent().map(Path::to_path_buf).unwrap_or_default();
                            (f, dir)
                        }
                        None => {
                            let flat = child_dir.join(format!("{name}.rs"));
                            if flat.exists() {
                                (flat, child_dir.join(&name))
                            } else {
                                (child_dir.join(&name).join("mod.rs"), child_dir.join(&name))
                            }
                        }
                    };
                    self.read_file(&child_file, child_path, grandchild_dir)?;
                }
            }
        }
        Ok(())
    }

    /// The absolute form of a path written in module `at`, or `None` for a path outside this crate.
    fn absolute(&self, at: &[String], segments: &[String]) -> Option<ModPath> {
        let first = segments.first()?;
        let mut base: ModPath = match first.as_str() {
            "crate" => Vec::new(),
            "self" => at.to_vec(),
            "super" => {
                let mut p = at.to_vec();
                p.pop()?;
                p
            }
            name if self
                .modules
                .get(at)
                .is_some_and(|m| m.children.contains(name)) =>
            {
                let mut p = at.to_vec();
                p.push(name.to_string());
                return Some(p.into_iter().chain(segments[1..].iter().cloned()).collect());
            }
            // A name brought in by a `use` of this module (`use crate::a; a::b::f()`).
            name => {
                let (_, imported) =
                    self.modules.get(at)?.imports.iter().find(|(bound, path)| {
                        bound == name && path.first().is_some_and(|f| f != name)
                    })?;
                let mut whole = imported.clone();
                whole.extend(segments[1..].iter().cloned());
                return self.absolute(at, &whole);
            }
        };
        let mut rest = &segments[1..];
        while rest.first().is_some_and(|s| s == "super") {
            base.pop()?;
            rest = &rest[1..];
        }
        base.extend(rest.iter().cloned());
        Some(base)
    }

    /// The module that defines what `path` (absolute) names, following re-exports.
    fn resolve(&self, path: &[String], depth: usize) -> Option<ModPath> {
        if depth > 16 {
            return None;
        }
        // The longest prefix that is a module.
        let mut len = 0;
        while len < path.len() && self.modules.contains_key(&path[..=len]) {
            len += 1;
        }
        let module_path = path[..len].to_vec();
        let module = self.modules.get(&module_path)?;
        let Some(item) = path.get(len) else {
            return Some(module_path);
        };
        if module.defines.contains(item) {
            return Some(module_path);
        }
        for (name, target) in &module.imports {
            if name == item
                && let Some(target) = self.absolute(&module_path, target)
            {
                return self.resolve(&target, depth + 1).or(Some(module_path));
            }
        }
        for glob in &module.globs {
            if let Some(mut target) = self.absolute(&module_path, glob) {
                target.push(item.clone());
                if let Some(found) = self.resolve(&target, depth + 1)
                    && found != module_path
                {
                    return Some(found);
                }
            }
        }
        Some(module_path)
    }

    /// Every dependency between two different modules, one path each.
    pub fn edges(&self) -> Vec<Edge> {
        let mut edges = BTreeMap::new();
        for (at, module) in &self.modules {
            let written = module
                .imports
                .iter()
                .map(|(_, p)| p)
                .chain(module.globs.iter())
                .chain(module.named.iter());
            for segments in written {
                let Some(absolute) = self.absolute(at, segments) else {
                    continue;
                };
                let Some(to) = self.resolve(&absolute, 0) else {
                    continue;
                };
                // A module naming its own descendants' paths through itself is no dependency on itself.
                if &to == at {
                    continue;
                }
                edges
                    .entry((at.clone(), to.clone()))
                    .or_insert_with(|| Edge {
                        from: at.clone(),
                        to,
                        via: display(&absolute),
                    });
            }
        }
        edges.into_values().collect()
    }

    /// The file a module is read from.
    pub fn file(&self, module: &[String]) -> Option<&Path> {
        self.modules.get(module).map(|m| m.file.as_path())
    }

    /// One circle per strongly connected group of modules, each as its edges in order.
    pub fn circles(&self) -> Vec<Vec<Edge>> {
        let edges = self.edges();
        let mut out: BTreeMap<&ModPath, Vec<&Edge>> = BTreeMap::new();
        for e in &edges {
            out.entry(&e.from).or_default().push(e);
        }
        let nodes: Vec<&ModPath> = self.modules.keys().collect();
        let groups = strongly_connected(&nodes, &out);
        let mut circles = Vec::new();
        for group in groups.into_iter().filter(|g| g.len() > 1) {
            let members: BTreeSet<&ModPath> = group.iter().copied().collect();
            // Start at the first module in path order, so a circle reads the same on every run.
            let Some(&start) = members.first() else {
                continue;
            };
            if let Some(circle) = circle_through(start, &members, &out) {
                circles.push(circle.into_iter().cloned().collect());
            }
        }
        circles
    }
}

/// Tarjan's algorithm, iterative over an explicit stack.
fn strongly_connected<'a>(
    nodes: &[&'a ModPath],
    out: &BTreeMap<&'a ModPath, Vec<&'a Edge>>,
) -> Vec<Vec<&'a ModPath>> {
    let mut index: BTreeMap<&ModPath, usize> = BTreeMap::new();
    let mut low: BTreeMap<&ModPath, usize> = BTreeMap::new();
    let mut on_stack: BTreeSet<&ModPath> = BTreeSet::new();
    let mut stack: Vec<&ModPath> = Vec::new();
    let mut groups = Vec::new();
    let mut next = 0;
    for &start in nodes {
        if index.contains_key(start) {
            continue;
        }
        // (node, next edge to look at)
        let mut work: Vec<(&ModPath, usize)> = vec![(start, 0)];
        while let Some((node, edge_at)) = work.pop() {
            if edge_at == 0 {
                index.insert(node, next);
                low.insert(node, next);
                next += 1;
                stack.push(node);
                on_stack.insert(node);
            }
            let targets = out.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(edge) = targets.get(edge_at) {
                work.push((node, edge_at + 1));
                let to = &edge.to;
                if !index.contains_key(to) {
                    if let Some(&known) = nodes.iter().find(|n| **n == to) {
                        work.push((known, 0));
                    }
                } else if on_stack.contains(to) {
                    let l = low[node].min(index[to]);
                    low.insert(node, l);
                }
                continue;
            }
            if let Some(&(parent, _)) = work.last() {
                let l = low[parent].min(low[node]);
                low.insert(parent, l);
            }
            if low[node] == index[node] {
                let mut group = Vec::new();
                while let Some(member) = stack.pop() {
                    on_stack.remove(member);
                    group.push(member);
                    if member == node {
                        break;
                    }
                }
                groups.push(group);
            }
        }
    }
    groups
}

/// A shortest circle from `start` back to itself inside `members` (breadth first).
fn circle_through<'a>(
    start: &'a ModPath,
    members: &BTreeSet<&'a ModPath>,
    out: &BTreeMap<&'a ModPath, Vec<&'a Edge>>,
) -> Option<Vec<&'a Edge>> {
    let mut came_by: BTreeMap<&ModPath, &Edge> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(node) = queue.pop_front() {
        for edge in out.get(node).into_iter().flatten() {
            if !members.contains(&edge.to) {
                continue;
            }
            if &edge.to == start {
                let mut circle = vec![*edge];
                let mut at = node;
                while at != start {
                    let e = came_by[at];
                    circle.push(e);
                    at = &e.from;
                }
                circle.reverse();
                return Some(circle);
            }
            if !came_by.contains_key(&edge.to) && &edge.to != start {
                came_by.insert(&edge.to, edge);
                queue.push_back(&edge.to);
            }
        }
    }
    None
}

/// Every path named in an item (types, expressions, patterns, attributes' paths), unresolved.
#[derive(Default)]
struct PathCollector {
    paths: Vec<ModPath>,
}

impl<'ast> Visit<'ast> for PathCollector {
    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.segments.len() > 1 {
            self.paths
                .push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_item_mod(&mut self, _: &'ast syn::ItemMod) {
        // A module inside a function or block is read as its own module only at file level; skip.
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_item_fn(self, f);
        }
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        if !is_test_only(&f.attrs) {
            syn::visit::visit_impl_item_fn(self, f);
        }
    }

    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        // `use` inside a function body: count what it names.
        let mut flat = Vec::new();
        flatten_use(&u.tree, Vec::new(), &mut flat);
        self.paths.extend(flat.into_iter().map(|(p, _)| p));
    }
}

/// `use a::{b, c::d as e, f::*}` as (path, name it binds); a glob binds no name.
fn flatten_use(tree: &syn::UseTree, prefix: ModPath, out: &mut Vec<(ModPath, Option<String>)>) {
    match tree {
        syn::UseTree::Path(p) => {
            let mut next = prefix;
            next.push(p.ident.to_string());
            flatten_use(&p.tree, next, out);
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            let mut path = prefix;
            if name != "self" {
                path.push(name.clone());
            }
            let bound = if name == "self" {
                path.last().cloned()
            } else {
                Some(name)
            };
            out.push((path, bound));
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix;
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            out.push((path, Some(r.rename.to_string())));
        }
        syn::UseTree::Glob(_) => out.push((prefix, None)),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                flatten_use(t, prefix.clone(), out);
            }
        }
    }
}

fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    match item {
        syn::Item::Const(i) => &i.attrs,
        syn::Item::Enum(i) => &i.attrs,
        syn::Item::ExternCrate(i) => &i.attrs,
        syn::Item::Fn(i) => &i.attrs,
        syn::Item::ForeignMod(i) => &i.attrs,
        syn::Item::Impl(i) => &i.attrs,
        syn::Item::Macro(i) => &i.attrs,
        syn::Item::Mod(i) => &i.attrs,
        syn::Item::Static(i) => &i.attrs,
        syn::Item::Struct(i) => &i.attrs,
        syn::Item::Trait(i) => &i.attrs,
        syn::Item::TraitAlias(i) => &i.attrs,
        syn::Item::Type(i) => &i.attrs,
        syn::Item::Union(i) => &i.attrs,
        syn::Item::Use(i) => &i.attrs,
        _ => &[],
    }
}

fn item_name(item: &syn::Item) -> Option<String> {
    let ident = match item {
        syn::Item::Const(i) => &i.ident,
        syn::Item::Enum(i) => &i.ident,
        syn::Item::Fn(i) => &i.sig.ident,
        syn::Item::Static(i) => &i.ident,
        syn::Item::Struct(i) => &i.ident,
        syn::Item::Trait(i) => &i.ident,
        syn::Item::TraitAlias(i) => &i.ident,
        syn::Item::Type(i) => &i.ident,
        syn::Item::Union(i) => &i.ident,
        syn::Item::Macro(i) => i.ident.as_ref()?,
        _ => return None,
    };
    Some(ident.to_string())
}

/// `#[cfg(test)]` (or a `cfg` that names `test`, such as `cfg(all(test, unix))`), or `#[test]`.
fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let path = a.path();
        if path.is_ident("test") {
            return true;
        }
        if !path.is_ident("cfg") {
            return false;
        }
        let mut names_test = false;
        let _ = a.parse_nested_meta(|meta| {
            names_test |= meta.path.is_ident("test");
            if meta.input.peek(syn::token::Paren) {
                meta.parse_nested_meta(|inner| {
                    names_test |= inner.path.is_ident("test");
                    Ok(())
                })?;
            }
            Ok(())
        });
        names_test
    })
}

fn path_attr(attrs: &[syn::Attribute]) -> Option<String> {
    attrs.iter().find_map(|a| match &a.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    })
}

/// The report a reader acts on: each circle as `a -> b -> a`, with the path and file of each step.
pub fn describe(graph: &ModuleGraph, circle: &[Edge]) -> String {
    let mut text = circle
        .iter()
        .map(|e| display(&e.from))
        .chain(circle.first().map(|e| display(&e.from)))
        .collect::<Vec<_>>()
        .join(" -> ");
    for e in circle {
        let file = graph
            .file(&e.from)
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        text.push_str(&format!(
            "\n    {} names {} ({file})",
            display(&e.from),
            e.via
        ));
    }
    text
}
