//! Validation of entry names, symlink targets and the directory tree an archive describes.
//!
//! Names are checked one at a time ([`parse_name`]). The [`Tree`] then records every entry so
//! that no two entries land on the same path, nothing is placed *under* a file or a symlink
//! (which would make extraction write through a link), and, once all entries are known, every
//! symlink is resolved the way the kernel would, following the other symlinks of the archive,
//! to prove it stays inside the extraction root.

use std::collections::HashMap;

/// Longest accepted symlink target in bytes (Linux `PATH_MAX`).
pub(super) const MAX_SYMLINK_TARGET: usize = 4096;

/// Deepest chain of symlinks followed while resolving one target (Linux `MAXSYMLINKS`).
const MAX_SYMLINK_DEPTH: u32 = 40;

/// What the archive places at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Node {
    /// A directory, either explicit (`dir/` entry) or implied by a deeper entry.
    Dir,
    /// A regular file.
    File,
    /// A symbolic link with its (already syntax-checked) target.
    Symlink(String),
}

/// Splits an entry name into its normal components, or returns `None` if the name is unsafe.
///
/// Rejected: NUL bytes, backslashes (Windows separators), absolute names, Windows drive
/// prefixes such as `C:` and any `..` component. Empty and `.` components are dropped, so the
/// result may be empty (an entry naming the root itself, like `./`).
pub(super) fn parse_name(name: &str) -> Option<Vec<&str>> {
    if name.contains(['\0', '\\']) || name.starts_with('/') || has_drive_prefix(name) {
        return None;
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return None,
            normal => parts.push(normal),
        }
    }
    Some(parts)
}

/// Syntax check of a symlink target: non-empty, relative, at most [`MAX_SYMLINK_TARGET`]
/// bytes, and free of NUL bytes, backslashes and drive prefixes. Whether it escapes the root
/// is decided later by [`SymlinkChecker`], because that depends on the other entries.
pub(super) fn is_safe_target(target: &str) -> bool {
    !target.is_empty()
        && target.len() <= MAX_SYMLINK_TARGET
        && !target.contains(['\0', '\\'])
        && !target.starts_with('/')
        && !has_drive_prefix(target)
}

fn has_drive_prefix(s: &str) -> bool {
    matches!(s.as_bytes(), [letter, b':', ..] if letter.is_ascii_alphabetic())
}

/// The set of paths an archive creates, keyed by components joined with `/`.
#[derive(Debug, Default)]
pub(super) struct Tree {
    nodes: HashMap<String, Node>,
}

impl Tree {
    /// Records an entry at `parts` (non-empty). Returns `false` if it conflicts with an earlier
    /// entry: the same path twice (except a directory repeated), or a path below a file or a
    /// symlink. Parent directories are recorded implicitly.
    pub(super) fn insert(&mut self, parts: &[&str], node: Node) -> bool {
        let Some((last, parents)) = parts.split_last() else {
            return false;
        };
        let mut key = String::new();
        for part in parents {
            push_component(&mut key, part);
            match self.nodes.get(&key) {
                None => {
                    self.nodes.insert(key.clone(), Node::Dir);
                }
                Some(Node::Dir) => {}
                Some(Node::File | Node::Symlink(_)) => return false,
            }
        }
        push_component(&mut key, last);
        match self.nodes.get(&key) {
            None => {
                self.nodes.insert(key, node);
                true
            }
            Some(Node::Dir) => node == Node::Dir,
            Some(_) => false,
        }
    }
}

fn push_component(key: &mut String, part: &str) {
    if !key.is_empty() {
        key.push('/');
    }
    key.push_str(part);
}

/// Resolves symlinks of a complete [`Tree`], memoizing each link's final location so that
/// long chains are resolved once rather than once per reference.
pub(super) struct SymlinkChecker<'a> {
    tree: &'a Tree,
    /// Resolved location of each link, as components below the root. `None` marks a link that
    /// is being resolved (so reaching it again is a loop) or that escapes.
    resolved: HashMap<&'a str, Option<Vec<&'a str>>>,
}

impl<'a> SymlinkChecker<'a> {
    pub(super) fn new(tree: &'a Tree) -> Self {
        Self {
            tree,
            resolved: HashMap::new(),
        }
    }

    /// Returns whether the symlink recorded at `key` (components joined with `/`) resolves to
    /// a location inside the root, following every symlink on the way like the kernel does.
    /// Loops and chains deeper than 40 links count as unsafe. Dangling targets are fine as
    /// long as they stay inside.
    pub(super) fn stays_inside(&mut self, key: &str) -> bool {
        match self.tree.nodes.get_key_value(key) {
            Some((key, Node::Symlink(_))) => self.resolve_link(key, 0).is_some(),
            _ => false,
        }
    }

    fn resolve_link(&mut self, key: &'a str, depth: u32) -> Option<Vec<&'a str>> {
        if let Some(done) = self.resolved.get(key) {
            return done.clone();
        }
        if depth > MAX_SYMLINK_DEPTH {
            return None;
        }
        let Some(Node::Symlink(target)) = self.tree.nodes.get(key) else {
            return None;
        };
        self.resolved.insert(key, None);
        let mut location: Vec<&'a str> = key.split('/').collect();
        location.pop();
        let result = self.walk(location, target, depth);
        self.resolved.insert(key, result.clone());
        result
    }

    /// Applies `target` to `location` component by component. `..` moves to the physical
    /// parent, which is correct because every component already on the stack is a real
    /// directory (or absent): symlinks are replaced by their resolution as soon as they are
    /// pushed.
    fn walk(
        &mut self,
        mut location: Vec<&'a str>,
        target: &'a str,
        depth: u32,
    ) -> Option<Vec<&'a str>> {
        if !is_safe_target(target) {
            return None;
        }
        for part in target.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    location.pop()?;
                }
                normal => {
                    location.push(normal);
                    let key = location.join("/");
                    if let Some((key, Node::Symlink(_))) = self.tree.nodes.get_key_value(&key) {
                        location = self.resolve_link(key, depth + 1)?;
                    }
                }
            }
        }
        Some(location)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        assert_eq!(parse_name("a/b/c.txt"), Some(vec!["a", "b", "c.txt"]));
        assert_eq!(parse_name("./a//b/"), Some(vec!["a", "b"]));
        assert_eq!(parse_name("./"), Some(vec![]));
        assert_eq!(parse_name("a/.../b"), Some(vec!["a", "...", "b"]));
        for bad in [
            "../evil",
            "a/../../evil",
            "a/..",
            "/abs",
            "//abs",
            "a\0b",
            "a\\..\\evil",
            "C:evil",
            "c:/evil",
        ] {
            assert_eq!(parse_name(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn checks_target_syntax() {
        assert!(is_safe_target("../lib/x.so"));
        assert!(is_safe_target("."));
        for bad in ["", "/etc/passwd", "a\0b", "..\\x", "C:/x"] {
            assert!(!is_safe_target(bad), "{bad:?}");
        }
        assert!(!is_safe_target(&"a/".repeat(MAX_SYMLINK_TARGET)));
    }

    #[test]
    fn rejects_conflicts() {
        let mut tree = Tree::default();
        assert!(tree.insert(&["a", "b"], Node::File));
        assert!(tree.insert(&["a"], Node::Dir));
        assert!(tree.insert(&["a"], Node::Dir));
        assert!(!tree.insert(&["a"], Node::File));
        assert!(!tree.insert(&["a", "b"], Node::File));
        assert!(!tree.insert(&["a", "b", "c"], Node::File));
        assert!(tree.insert(&["l"], Node::Symlink("a".into())));
        assert!(!tree.insert(&["l", "x"], Node::File));
        assert!(!tree.insert(&[], Node::File));
    }

    fn check(links: &[(&[&str], &str)]) -> Vec<bool> {
        let mut tree = Tree::default();
        for (path, target) in links {
            assert!(tree.insert(path, Node::Symlink((*target).to_owned())));
        }
        let mut checker = SymlinkChecker::new(&tree);
        links
            .iter()
            .map(|(path, _)| checker.stays_inside(&path.join("/")))
            .collect()
    }

    #[test]
    fn resolves_symlinks_like_the_kernel() {
        assert_eq!(check(&[(&["a"], "../../x")]), [false]);
        assert_eq!(check(&[(&["d", "a"], "../x")]), [true]);
        assert_eq!(check(&[(&["d", "a"], "../../x")]), [false]);
        assert_eq!(check(&[(&["d", "a"], "b/../../x")]), [true]);
        assert_eq!(check(&[(&["bin", "tool"], "../lib/tool.js")]), [true]);
        // `s` points at the root, so `s/x/../..` climbs out although it looks balanced.
        assert_eq!(
            check(&[(&["s"], "."), (&["t"], "s/x/../..")]),
            [true, false]
        );
        // The same through a chain, defined in either order.
        assert_eq!(
            check(&[(&["t"], "u/x/../.."), (&["u"], "s"), (&["s"], ".")]),
            [false, true, true]
        );
        // Links into deeper directories are fine to traverse.
        assert_eq!(check(&[(&["s"], "a/b"), (&["t"], "s/..")]), [true, true]);
        // Loops are rejected.
        assert_eq!(check(&[(&["a"], "b"), (&["b"], "a")]), [false, false]);
        assert_eq!(check(&[(&["a"], "a")]), [false]);
    }

    #[test]
    fn limits_chain_depth() {
        let names: Vec<String> = (0..60).map(|i| format!("l{i}")).collect();
        let mut tree = Tree::default();
        for (i, name) in names.iter().enumerate() {
            let target = names.get(i + 1).map_or("end", String::as_str);
            assert!(tree.insert(&[name.as_str()], Node::Symlink(target.to_owned())));
        }
        assert!(!SymlinkChecker::new(&tree).stays_inside("l0"));
        assert!(SymlinkChecker::new(&tree).stays_inside("l30"));
    }
}
