/** `dbward mcp`: serve the MCP tools on stdin/stdout until the client closes the stream. */
import { packageVersion } from "@dbward/bot/runtime-files";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { apiClient } from "../api-client.ts";
import { createMcpServer } from "../mcp/mcp-server.ts";

export async function runMcp(
  env: Readonly<Record<string, string | undefined>>,
  args: { url?: string | undefined; token?: string | undefined },
): Promise<void> {
  const client = apiClient(args.url ?? env.DBWARD_URL, args.token ?? env.DBWARD_TOKEN);
  const server = createMcpServer(client, packageVersion());
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
  });
  await server.connect(transport);
  await closed;
}
