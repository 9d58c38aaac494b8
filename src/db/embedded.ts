// Placeholder: the embedded PostgreSQL manager is being written (see helper task).
export interface EmbeddedServer { url: string; port: number; pid: number; dataDir: string; startedNow: boolean }
export async function ensureEmbedded(_options: { dir?: string } = {}): Promise<EmbeddedServer> {
  throw new Error("embedded PostgreSQL not implemented yet");
}
