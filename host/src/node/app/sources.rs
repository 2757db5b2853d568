//! The app's side of the source feeds: which sources some manuscript reads, whether there is source work for a
//! block, and keeping the feeds in line with the committed state.

use cvm_runtime::state::{StateRoot, TrieView, subscribers};

use super::App;

impl App {
    /// Whether some manuscript reads a source, in the state with `root`. A subscriber list that does not read
    /// counts as no reader: the source then waits at its head rather than feeding blocks nobody can run.
    pub(super) fn source_readers(&self, root: StateRoot) -> impl Fn(&str) -> bool {
        let view = TrieView::new(self.executor.store().clone(), root);
        move |name: &str| subscribers(&view, name).is_ok_and(|readers| !readers.is_empty())
    }

    /// Whether source blocks past a head are ready for a source some manuscript reads: work for a block.
    pub fn has_source_work(&self) -> bool {
        let Ok(parent) = self.parent() else {
            return false;
        };
        let read = self.source_readers(parent.state_root);
        self.sources.has_work(|name| read(name))
    }

    /// Brings the source feeds in line with the committed state (at start and after each commit).
    pub fn sync_sources(&self) {
        let Ok(parent) = self.parent() else { return };
        let view = TrieView::new(self.executor.store().clone(), parent.state_root);
        self.sources.sync_with_state(&view);
    }
}
