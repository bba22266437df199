"""The site's metadata as a use case for the edges: `jiragate jira snapshot` reads it through
the configured Jira without building a whole gateway (no store, no policies)."""

from __future__ import annotations

from jiragate.catalog.site import SiteMetadata
from jiragate.jira.operations import JiraAdapter
from jiragate.jira.sitemeta import snapshot_site
from jiragate.settings import Settings


async def read_site_metadata(settings: Settings) -> SiteMetadata:
    """Everything `check --site` needs, every project's issue types included."""
    async with JiraAdapter(settings.jira.to_config()) as adapter:
        return await snapshot_site(adapter.client, adapter.config)
