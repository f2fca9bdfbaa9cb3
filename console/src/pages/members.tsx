// A workspace's members and their roles: add one or change a role (PUT), remove one (DELETE, confirmed); and the
// workspace's own settings: rename or describe it (PATCH, ADMIN), delete it (OWNER, typing its name to confirm).
import { useState, type FormEvent } from "react";
import { api, unwrap, type Schemas } from "../api/client";
import { Confirm } from "../lib/controls";
import { SubmitButton } from "../lib/forms";
import { refusal, type Role } from "../lib/roles";
import { navigate } from "../lib/router";
import { ActionButton, ErrorBox, Page, Show, Time, useAction, useLoad, useWorkspace } from "../lib/ui";

type Member = Schemas["MemberOut"];
const ROLES: Role[] = ["VIEWER", "OPERATOR", "ADMIN", "OWNER"];
const PUT = "PUT /workspaces/{workspace_id}/members/{user_id}" as const;
const DELETE = "DELETE /workspaces/{workspace_id}/members/{user_id}" as const;

/** The API's own rule beyond the role table: only an OWNER grants, changes or removes an OWNER. */
const ownerOnly = (caller: Role | null, role: Role) =>
  role === "OWNER" && caller !== "OWNER" ? "Only an OWNER may change an OWNER" : null;

export function MembersPage() {
  const workspace = useWorkspace();
  const members = useLoad(async () => unwrap(await api().GET("/workspaces/{workspace_id}/members",
    { params: { path: { workspace_id: workspace.id } } })), [workspace.id]);
  return (
    <Page title={`Members · ${workspace.name}`}>
      <p>Your role here: <strong>{workspace.role ?? "none"}</strong>.</p>
      <Show loaded={members} what="members" isEmpty={(d) => d.items.length === 0} empty="This workspace has no members.">
        {(data) => (
          <table>
            <caption className="sr-only">Members of the workspace</caption>
            <thead>
              <tr><th scope="col">User</th><th scope="col">Role</th><th scope="col">Added by</th><th scope="col">Since</th>
                <th scope="col">Remove</th></tr>
            </thead>
            <tbody>{data.items.map((m) => <MemberRow key={m.user_id} member={m} onChange={members.reload} />)}</tbody>
          </table>
        )}
      </Show>
      <AddMember onDone={members.reload} />
      <WorkspaceSettings />
    </Page>
  );
}

function MemberRow({ member, onChange }: { member: Member; onChange: () => void }) {
  const workspace = useWorkspace();
  const [role, setRole] = useState<Role>(member.role);
  const [confirming, setConfirming] = useState(false);
  const action = useAction();
  const path = { workspace_id: workspace.id, user_id: member.user_id };
  const guarded = ownerOnly(workspace.role, member.role);
  const selectId = `role-of-${member.user_id}`;
  const put = async () => {
    if (await action.run(async () => unwrap(await api().PUT("/workspaces/{workspace_id}/members/{user_id}",
      { params: { path }, body: { role } })))) onChange();
  };
  const remove = async () => {
    if (await action.run(async () => unwrap(await api().DELETE("/workspaces/{workspace_id}/members/{user_id}",
      { params: { path } })))) onChange();
  };
  return (
    <tr>
      <th scope="row">{member.user_id}</th>
      <td>
        <label htmlFor={selectId} className="sr-only">Role of {member.user_id}</label>
        <select id={selectId} value={role} onChange={(e) => setRole(e.target.value as Role)}
          disabled={!!(refusal(workspace.role, PUT) ?? guarded)}>
          {ROLES.map((r) => <option key={r} value={r} disabled={!!ownerOnly(workspace.role, r)}>{r}</option>)}
        </select>
        {role !== member.role && (
          <ActionButton op={PUT} role={workspace.role} busy={action.busy} disabledReason={guarded}
            onClick={() => void put()}>Save role</ActionButton>
        )}
      </td>
      <td>{member.added_by}</td>
      <td><Time at={member.created_at} /></td>
      <td>
        {confirming ? (
          <Confirm question={<>Remove <strong>{member.user_id}</strong> from this workspace?</>}
            onCancel={() => setConfirming(false)}
            confirm={<ActionButton op={DELETE} role={workspace.role} className="danger" busy={action.busy}
              disabledReason={guarded} onClick={() => void remove()}>Yes, remove</ActionButton>} />
        ) : (
          <ActionButton op={DELETE} role={workspace.role} className="danger" disabledReason={guarded}
            onClick={() => setConfirming(true)}>Remove {member.user_id}</ActionButton>
        )}
        {action.error !== null && <ErrorBox error={action.error} />}
      </td>
    </tr>
  );
}

function AddMember({ onDone }: { onDone: () => void }) {
  const workspace = useWorkspace();
  const [user, setUser] = useState("");
  const [role, setRole] = useState<Role>("VIEWER");
  const action = useAction();
  // The submit calls the API whatever the button shows: the API decides, and its 403 is shown as such.
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const ok = await action.run(async () => unwrap(await api().PUT("/workspaces/{workspace_id}/members/{user_id}",
      { params: { path: { workspace_id: workspace.id, user_id: user.trim() } }, body: { role } })));
    if (ok) {
      setUser("");
      onDone();
    }
  };
  return (
    <form className="inline-form" id="add-member-form" onSubmit={submit} aria-labelledby="add-member">
      <h2 id="add-member">Add a member, or change a member's role</h2>
      <label htmlFor="member-user">User id</label>
      <input id="member-user" value={user} onChange={(e) => setUser(e.target.value)} required maxLength={128}
        pattern="[A-Za-z0-9._@+=\-]+" title="letters, digits and . _ @ + = -" autoComplete="off" />
      <label htmlFor="member-role">Role</label>
      <select id="member-role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
        {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
      </select>
      <SubmitButton op={PUT} role={workspace.role} busy={action.busy}>Save member</SubmitButton>
      {action.error !== null && <ErrorBox error={action.error} />}
    </form>
  );
}

function WorkspaceSettings() {
  const workspace = useWorkspace();
  const loaded = useLoad(async () => unwrap(await api().GET("/workspaces/{workspace_id}",
    { params: { path: { workspace_id: workspace.id } } })), [workspace.id]);
  return (
    <section aria-labelledby="workspace-settings">
      <h2 id="workspace-settings">Workspace settings</h2>
      <Show loaded={loaded} what="the workspace's settings">
        {(data) => <SettingsForms key={data.version} current={data}
          onSaved={() => { loaded.reload(); workspace.reload(); }} />}
      </Show>
    </section>
  );
}

function SettingsForms({ current, onSaved }: { current: Schemas["WorkspaceOut"]; onSaved: () => void }) {
  const workspace = useWorkspace();
  const [name, setName] = useState(current.name);
  const [description, setDescription] = useState(current.description);
  const [typed, setTyped] = useState("");
  const save = useAction();
  const remove = useAction();
  const params = { path: { workspace_id: workspace.id }, header: { "if-match": `"${current.version}"` } };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const body: Schemas["WorkspaceUpdate"] = {};
    if (name !== current.name) body.name = name;
    if (description !== current.description) body.description = description;
    if (!Object.keys(body).length) return;
    if (await save.run(async () => unwrap(await api().PATCH("/workspaces/{workspace_id}", { params, body })))) onSaved();
  };
  const deleteWorkspace = async () => {
    if (await remove.run(async () => unwrap(await api().DELETE("/workspaces/{workspace_id}", { params })))) navigate("/");
  };
  return (
    <>
      <form className="settings" onSubmit={submit} aria-label="Rename or describe the workspace">
        <label htmlFor="workspace-edit-name">Name</label>
        <input id="workspace-edit-name" value={name} onChange={(e) => setName(e.target.value)} required maxLength={100} />
        <label htmlFor="workspace-edit-description">Description</label>
        <input id="workspace-edit-description" value={description} onChange={(e) => setDescription(e.target.value)}
          maxLength={1000} />
        <div>
          <SubmitButton op="PATCH /workspaces/{workspace_id}" role={workspace.role} busy={save.busy}>Save workspace</SubmitButton>
        </div>
      </form>
      {save.error !== null && <ErrorBox error={save.error} />}
      <h3>Delete this workspace</h3>
      <p>Only a workspace with no fleets can be deleted; its members lose access to it.</p>
      <div className="inline-form">
        <label htmlFor="workspace-delete-confirm">Type the workspace's name, <strong>{current.name}</strong>, to confirm</label>
        <input id="workspace-delete-confirm" value={typed} onChange={(e) => setTyped(e.target.value)} autoComplete="off" />
        <ActionButton op="DELETE /workspaces/{workspace_id}" role={workspace.role} className="danger" busy={remove.busy}
          disabledReason={typed === current.name ? null : "Type the workspace's name first"}
          onClick={() => void deleteWorkspace()}>Delete workspace</ActionButton>
      </div>
      {remove.error !== null && <ErrorBox error={remove.error} />}
    </>
  );
}
