// The steps of the bot's running workflow (or of its last one), as the stream reports them.
import { Loading, StatusBadge, Time } from "../lib/ui";
import type { WorkflowView } from "./bot_live";

export function Steps({ workflow, status }: { workflow?: WorkflowView | null; status: string }) {
  const last = workflow?.steps[workflow.steps.length - 1];
  return (
    <section aria-labelledby="steps-title">
      <h2 id="steps-title">Workflow</h2>
      {workflow === undefined && <Loading what="the workflow's steps" />}
      {workflow === null && <p className="empty">No workflow has run on this bot yet{status === "PENDING" ? ": provision it to deploy its gateway." : "."}</p>}
      {workflow && (
        <>
          <p>
            <strong>{workflow.action || "A workflow"}</strong> {workflow.running ? "is running" : "ended"}{" "}
            <span className="muted">(request {workflow.id})</span>
          </p>
          {/* read out as each step changes, for screen-reader users */}
          <p className="sr-only" aria-live="polite">{last ? `Step ${last.step}: ${last.status}` : ""}</p>
          {workflow.steps.length === 0 ? <p className="empty">No step has started yet.</p> : (
            <table className="steps">
              <caption className="sr-only">Steps of the {workflow.action} workflow</caption>
              <thead>
                <tr><th scope="col">Step</th><th scope="col">State</th><th scope="col">Attempts</th>
                  <th scope="col">Started</th><th scope="col">Ended</th><th scope="col">Detail</th></tr>
              </thead>
              <tbody>
                {workflow.steps.map((step) => (
                  <tr key={step.step} data-step={step.step}>
                    <th scope="row">{step.step}</th>
                    <td><StatusBadge status={step.status} /></td>
                    <td>{step.attempts}</td>
                    <td><Time at={step.started_at} /></td>
                    <td><Time at={step.ended_at} /></td>
                    <td>{step.error ? <span className="error-text">{step.error}</span> : step.detail ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </section>
  );
}
