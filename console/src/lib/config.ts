// What the console reads first, from its own origin: where the API and the stream are and how to sign in.
// The local stack serves it from the running stack; on AWS the CDK app writes it at deploy time.
export interface ConsoleConfig {
  apiUrl: string;
  wsUrl: string;
  auth: { authorizeUrl: string; tokenUrl: string; logoutUrl: string; clientId: string; scope: string };
  redirectPath: string;
}

export async function loadConfig(): Promise<ConsoleConfig> {
  const response = await fetch(`${import.meta.env.BASE_URL}config.json`, { cache: "no-cache" });
  if (!response.ok) throw new Error(`config.json: HTTP ${response.status}`);
  return (await response.json()) as ConsoleConfig;
}
