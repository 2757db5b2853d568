//! All the registered Ethereum sources this node reads: a feed per source with a configured endpoint, created
//! as sources appear in committed state, told of each commit; what a proposal takes and what checking one needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cvm_runtime::sources::{SourceKind, source_head, sources};
use cvm_runtime::state::TrieView;
use parking_lot::RwLock;
use tokio::sync::Notify;
use tracing::{info, warn};

use super::endpoint::open_endpoint;
use super::feed::{FeedStatus, SourceDataError, SourceFeed};
use super::pulled::PulledBlock;
use crate::chain::SourceCommitment;
use crate::chain::config::SourceEndpointConfig;

/// One source's status as `cvm source status` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceStatus {
    /// The registered source.
    pub name: String,
    /// Whether this node has an endpoint for it (false: it follows the source through peers only).
    pub endpoint: bool,
    /// What its feed last saw.
    pub feed: FeedStatus,
}

/// The node's Ethereum sources.
pub struct SourceHub {
    endpoints: BTreeMap<String, SourceEndpointConfig>,
    home: PathBuf,
    feeds: RwLock<BTreeMap<String, Arc<SourceFeed>>>,
    /// Registered Ethereum sources without an endpoint here (warned about once).
    unserved: RwLock<BTreeMap<String, ()>>,
    /// Told when a feed has blocks ready after having none: the node's loop begins a height waiting for work.
    work: Arc<Notify>,
}

impl SourceHub {
    /// A hub over the node's `[sources.*]` settings (paths relative to `home`) that signals `work` when source
    /// blocks become ready.
    pub fn new(
        endpoints: BTreeMap<String, SourceEndpointConfig>,
        home: &Path,
        work: Arc<Notify>,
    ) -> Self {
        Self {
            endpoints,
            home: home.to_path_buf(),
            feeds: RwLock::new(BTreeMap::new()),
            unserved: RwLock::new(BTreeMap::new()),
            work,
        }
    }

    /// A hub with no endpoints: the node follows its sources through peers only.
    pub fn without_endpoints() -> Self {
        Self::new(BTreeMap::new(), Path::new("."), Arc::new(Notify::new()))
    }

    /// Brings the feeds in line with the committed state `view`: a feed for each registered Ethereum source with
    /// an endpoint here, told its committed head. Returns the sources whose endpoint showed another block at a
    /// committed number.
    pub fn sync_with_state(&self, view: &TrieView) -> Vec<String> {
        let defs = match sources(view) {
            Ok(defs) => defs,
            Err(e) => {
                warn!(error = %e, "cannot read the registered sources from state");
                return Vec::new();
            }
        };
        let mut conflicts = Vec::new();
        for def in defs {
            let SourceKind::Ethereum(eth) = def.kind else {
                continue;
            };
            let head = source_head(view, &def.name).ok().flatten();
            let existing = self.feeds.read().get(&def.name).cloned();
            match existing {
                Some(feed) => {
                    if let Some(head) = head
                        && feed.committed(head)
                    {
                        conflicts.push(def.name.clone());
                    }
                }
                None => {
                    let Some(config) = self.endpoints.get(&def.name) else {
                        if self.unserved.write().insert(def.name.clone(), ()).is_none() {
                            warn!(
                                source = %def.name,
                                "no endpoint configured for this Ethereum source: this node follows it through peers but cannot propose or check blocks that ingest it; add [sources.{}] to config.toml",
                                def.name
                            );
                        }
                        continue;
                    };
                    match open_endpoint(config, &self.home, eth.chain_id) {
                        Ok(endpoint) => {
                            let feed = Arc::new(SourceFeed::new(
                                def.name.clone(),
                                eth,
                                endpoint,
                                head,
                                self.work.clone(),
                            ));
                            feed.spawn_prefetch(Duration::from_millis(config.poll_ms));
                            info!(source = %def.name, "reading the source from this node's endpoint");
                            self.feeds.write().insert(def.name.clone(), feed);
                        }
                        Err(e) => {
                            warn!(source = %def.name, error = %e, "cannot open the source's endpoint")
                        }
                    }
                }
            }
        }
        conflicts
    }

    /// Source blocks for the block this node proposes, source by source in name order, of the sources
    /// `read` says some manuscript reads: a source nobody reads waits at its head, so its first reader sees it
    /// from its registered start.
    pub fn proposal(&self, read: impl Fn(&str) -> bool) -> Vec<PulledBlock> {
        self.feeds
            .read()
            .iter()
            .filter(|(name, _)| read(name))
            .flat_map(|(_, feed)| feed.proposal())
            .collect()
    }

    /// Whether a source that `read` says some manuscript reads has blocks ready past its head (work for a new
    /// block).
    pub fn has_work(&self, read: impl Fn(&str) -> bool) -> bool {
        self.feeds
            .read()
            .iter()
            .any(|(name, feed)| feed.has_ready() && read(name))
    }

    /// The data behind a proposal's commitments, checked against this node's endpoints.
    pub fn resolve(
        &self,
        commitments: &[SourceCommitment],
    ) -> Result<Vec<PulledBlock>, SourceDataError> {
        commitments
            .iter()
            .map(|c| {
                let feed = self.feeds.read().get(&c.source).cloned().ok_or_else(|| {
                    SourceDataError::NoEndpoint {
                        source_name: c.source.clone(),
                    }
                })?;
                feed.resolve(c)
            })
            .collect()
    }

    /// Every source with a feed or a registration seen without an endpoint.
    pub fn status(&self) -> Vec<SourceStatus> {
        let mut out: Vec<SourceStatus> = self
            .feeds
            .read()
            .iter()
            .map(|(name, feed)| SourceStatus {
                name: name.clone(),
                endpoint: true,
                feed: feed.status(),
            })
            .collect();
        out.extend(self.unserved.read().keys().map(|name| SourceStatus {
            name: name.clone(),
            endpoint: false,
            feed: FeedStatus::default(),
        }));
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}
