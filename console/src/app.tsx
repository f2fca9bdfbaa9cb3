// The shell: who is signed in, the workspace's navigation, and which page the path selects.
import { lazy, Suspense, useEffect, useMemo, useState, type ComponentType } from "react";
import { api, unwrap, type Schemas } from "./api/client";
import { currentUser, onAuthChange, signIn, signOut } from "./lib/auth";
import { Link, match, useLocation } from "./lib/router";
import type { Role } from "./lib/roles";
import { ErrorBox, Loading, useLoad, WorkspaceCtx } from "./lib/ui";
import { WorkspacesPage } from "./pages/workspaces";

type Params = Record<string, string>;

// Pages load on demand: the first page ships only the shell and the workspace list.
const page = (load: () => Promise<Record<string, unknown>>, name: string) =>
  lazy(async () => ({ default: (await load())[name] as ComponentType<{ params: Params }> }));

const WORKSPACE_PAGES: [string, ComponentType<{ params: Params }>][] = [
  ["/w/:ws", page(() => import("./pages/fleets"), "FleetsPage")],
  ["/w/:ws/rollouts", page(() => import("./pages/rollouts"), "RolloutsPage")],
  ["/w/:ws/rollouts/:id", page(() => import("./pages/rollout"), "RolloutPage")],
  ["/w/:ws/fleets/:fleet/new", page(() => import("./pages/bot_new"), "NewBotPage")],
  ["/w/:ws/bots/:bot", page(() => import("./pages/bot"), "BotPage")],
  ["/w/:ws/audit", page(() => import("./pages/audit"), "AuditPage")],
  ["/w/:ws/fleets/:fleet", page(() => import("./pages/fleet"), "FleetPage")],
  ["/w/:ws/members", page(() => import("./pages/members"), "MembersPage")],
];

export function App() {
  const [user, setUser] = useState(currentUser());
  useEffect(() => onAuthChange(() => setUser(currentUser())), []);
  const { path } = useLocation();
  if (!user) return <Landing problem="Your session ended." />;
  const workspaceId = path.startsWith("/w/") ? decodeURIComponent(path.split("/")[2] ?? "") || null : null;
  return (
    <>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top">
        <Link to="/" className="brand">Clawster</Link>
        {workspaceId && <WorkspaceNav workspaceId={workspaceId} path={path} />}
        <span className="who">
          Signed in as <strong>{user.sub}</strong>{" "}
          <button type="button" className="link" onClick={signOut}>Sign out</button>
        </span>
      </header>
      <main id="main">
        <Routes path={path} workspaceId={workspaceId} />
      </main>
    </>
  );
}

function Routes({ path, workspaceId }: { path: string; workspaceId: string | null }) {
  if (path === "/" || path === "") return <WorkspacesPage />;
  for (const [pattern, Component] of WORKSPACE_PAGES) {
    const params = match(pattern, path);
    if (params && workspaceId) {
      return (
        // a new scope per workspace: another's (the last one's) is never shown while this one's is read
        <WorkspaceScope key={workspaceId} workspaceId={workspaceId}>
          <Suspense fallback={<Loading what="the page" />}><Component params={params} /></Suspense>
        </WorkspaceScope>
      );
    }
  }
  return (
    <section className="page">
      <h1>Not found</h1>
      <p>No page here. <Link to="/">Back to your workspaces</Link></p>
    </section>
  );
}

/** The workspace a page belongs to, with the caller's role in it (what the action buttons check). */
function WorkspaceScope({ workspaceId, children }: { workspaceId: string; children: React.ReactNode }) {
  const loaded = useLoad(async () => {
    // the caller's role is in their list of workspaces, read a page at a time until it is found
    let cursor: string | null | undefined = null;
    do {
      const list: Schemas["WorkspaceList"] = unwrap(await api().GET("/workspaces",
        { params: { query: { limit: 100, cursor } } }));
      const summary = list.items.find((item) => item.id === workspaceId);
      if (summary) return { id: summary.id, name: summary.name, role: summary.role as Role };
      cursor = list.next_cursor;
    } while (cursor);
    // not listed: read it (a 404 when the caller is not a member)
    const workspace = unwrap(await api().GET("/workspaces/{workspace_id}", { params: { path: { workspace_id: workspaceId } } }));
    return { id: workspace.id, name: workspace.name, role: null };
  }, [workspaceId]);
  const { data, reload } = loaded;
  const workspace = useMemo(() => data && { ...data, reload }, [data, reload]);
  if (loaded.state === "error") return <ErrorBox error={loaded.error} retry={loaded.reload} />;
  if (!workspace) return <Loading what="the workspace" />;
  return <WorkspaceCtx.Provider value={workspace}>{children}</WorkspaceCtx.Provider>;
}

const NAV: [string, string][] = [["", "Fleets"], ["/rollouts", "Rollouts"], ["/audit", "Audit"], ["/members", "Members"]];

function WorkspaceNav({ workspaceId, path }: { workspaceId: string; path: string }) {
  const base = `/w/${encodeURIComponent(workspaceId)}`;
  return (
    <nav aria-label="Workspace">
      <ul>
        {NAV.map(([suffix, label]) => {
          const to = base + suffix;
          const current = suffix === "" ? path === to || path.startsWith(`${base}/fleets`) || path.startsWith(`${base}/bots`)
            : path.startsWith(to);
          return <li key={label}><Link to={to} aria-current={current ? "page" : undefined}>{label}</Link></li>;
        })}
      </ul>
    </nav>
  );
}

export function Landing({ problem }: { problem?: string }) {
  useEffect(() => { document.title = "Sign in · Clawster"; }, []);
  return (
    <main id="main" className="landing">
      <h1>Clawster</h1>
      <p>The control plane for your OpenClaw gateways.</p>
      {problem && <p role="alert" className="error">{problem}</p>}
      <button type="button" className="primary" onClick={() => void signIn()}>Sign in</button>
    </main>
  );
}
