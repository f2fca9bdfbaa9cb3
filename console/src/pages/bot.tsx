// A bot's page: what it is and where it runs, its workflow's steps as they happen, its lifecycle actions, its own
// config (edited here), its revision history with side-by-side diffs, and its gateway's log.
import { useState } from "react";
import { api, unwrap } from "../api/client";
import { Link } from "../lib/router";
import { ErrorBox, Loading, Page, StatusBadge, Time, useLoad, useWorkspace } from "../lib/ui";
import { LifecycleActions } from "./bot_actions";
import { ConfigEditor } from "./bot_config";
import { useBotLive, type Bot, type BotLive } from "./bot_live";
import { GatewayLogs } from "./bot_logs";
import { Revisions } from "./bot_revisions";
import { Steps } from "./bot_steps";

export function BotPage({ params }: { params: Record<string, string> }) {
  const workspace = useWorkspace();
  const botId = params.bot;
  const live = useBotLive(workspace.id, botId);
  const [focus, setFocus] = useState<string | null>(null); // a revision whose diff to open (a config just saved)
  const revisions = useLoad(async () => unwrap(await api().GET("/workspaces/{workspace_id}/bots/{bot_id}/revisions",
    { params: { path: { workspace_id: workspace.id, bot_id: botId }, query: { limit: 20 } } })),
  [workspace.id, botId, live.bot?.desired_revision_id, live.bot?.applied_revision_id, live.ended]);
  const { bot } = live;
  const fleetLink = bot && `/w/${encodeURIComponent(workspace.id)}/fleets/${encodeURIComponent(bot.fleet_id)}`;

  if (live.deleted) {
    return (
      <Page title="Bot deleted">
        <p role="status">This bot and its gateway were deleted.{" "}
          {fleetLink ? <Link to={fleetLink}>Back to its fleet</Link> : <Link to={`/w/${encodeURIComponent(workspace.id)}`}>Back to the fleets</Link>}</p>
      </Page>
    );
  }
  if (!bot) {
    return (
      <Page title="Bot">
        {live.error ? <ErrorBox error={live.error} retry={live.reload} /> : <Loading what="the bot" />}
      </Page>
    );
  }
  const numberOf = (id?: string | null) => revisions.data?.items.find((r) => r.id === id)?.number;
  return (
    <Page title={`Bot ${bot.name}`}>
      <p className="crumbs"><Link to={fleetLink!}>Its fleet</Link> · <LiveNote live={live} /></p>
      {live.error !== null && <ErrorBox error={live.error} retry={live.reload} />}
      <Facts bot={bot} desired={numberOf(bot.desired_revision_id)} applied={numberOf(bot.applied_revision_id)} />
      <LifecycleActions bot={bot} live={live} />
      <Steps workflow={live.workflow} status={bot.status} />
      <ConfigEditor bot={bot} onStale={live.reload}
        onSaved={(saved) => { live.setBot(saved); setFocus(saved.desired_revision_id); }} />
      <Revisions bot={bot} loaded={revisions} focus={focus} />
      <GatewayLogs bot={bot} ended={live.ended} />
    </Page>
  );
}

function LiveNote({ live }: { live: BotLive }) {
  return <span className="live-note" role="status">{live.live ? "Live updates on" : "Connecting to live updates…"}</span>;
}

function Facts({ bot, desired, applied }: { bot: Bot; desired?: number; applied?: number }) {
  const cost = bot.cost_estimate;
  const differ = bot.applied_revision_id !== bot.desired_revision_id;
  const revision = (id: string | null | undefined, number?: number) => id ? (number ? `#${number}` : id) : "none yet";
  return (
    <dl className="facts">
      <dt>Status</dt>
      <dd><span data-testid="bot-status"><StatusBadge status={bot.status} /></span>
        {bot.status_reason && <span className="reason-text"> {bot.status_reason}</span>}</dd>
      <dt>Target</dt><dd>{bot.target ?? "none (not deployed)"}</dd>
      <dt>OpenClaw version</dt><dd>{bot.openclaw_version ?? "—"}</dd>
      <dt>Cost estimate</dt>
      <dd>{cost ? `$${cost.hourly_usd.toFixed(4)} an hour (${cost.size}; ${cost.source}, ${cost.as_of})` : "none for this target"}</dd>
      <dt>Template</dt><dd>{bot.template_id ?? "none"}</dd>
      <dt>Desired revision</dt><dd>{revision(bot.desired_revision_id, desired)}</dd>
      <dt>Applied revision</dt>
      <dd>{revision(bot.applied_revision_id, applied)}{" "}
        <span data-testid="revision-state">{differ ? "(differs from the desired one: not applied yet)" : "(the desired one)"}</span></dd>
      <dt>Tags</dt><dd>{Object.entries(bot.tags).map(([k, v]) => `${k}=${v}`).join(", ") || "none"}</dd>
      <dt>Updated</dt><dd><Time at={bot.updated_at} /></dd>
    </dl>
  );
}
