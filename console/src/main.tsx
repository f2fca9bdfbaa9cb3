import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { initApi } from "./api/client";
import { App, Landing } from "./app";
import { completeSignIn, currentUser, initAuth } from "./lib/auth";
import { loadConfig } from "./lib/config";
import { navigate } from "./lib/router";
import { initStream } from "./lib/stream";
import "./styles.css";

async function start(): Promise<void> {
  const root = createRoot(document.getElementById("root")!);
  let problem: string | undefined;
  try {
    const config = await loadConfig();
    initAuth(config);
    initApi(config.apiUrl);
    initStream(config.wsUrl);
    const signedIn = await completeSignIn();
    if (signedIn.redirecting) return;
    problem = signedIn.error;
    if (signedIn.returnTo) navigate(signedIn.returnTo, true);
  } catch (error) {
    problem = `The console cannot start: ${error instanceof Error ? error.message : String(error)}`;
  }
  root.render(<StrictMode>{currentUser() ? <App /> : <Landing problem={problem} />}</StrictMode>);
}

void start();
