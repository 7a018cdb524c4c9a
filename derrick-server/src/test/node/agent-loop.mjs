// An agent loop against derrick's MCP server with the official TypeScript SDK: launched by McpNodeClientIT as
//   node agent-loop.mjs stdio <java> <derrick.jar> <workspace.json> <tmpdir>
//   node agent-loop.mjs http <url of /mcp> <bearer token>
// Prints "AGENT LOOP OK" at the end; any failed expectation exits non-zero with a message.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

function expect(cond, what, detail) {
  if (!cond) {
    console.error("FAILED: " + what + (detail === undefined ? "" : ": " + JSON.stringify(detail)));
    process.exit(1);
  }
}

const text = (r) => r.content.filter((c) => c.type === "text").map((c) => c.text).join("");

const [mode, ...rest] = process.argv.slice(2);
let transport;
if (mode === "stdio") {
  const [java, jar, config, tmp] = rest;
  transport = new StdioClientTransport({
    command: java,
    args: ["-Djava.io.tmpdir=" + tmp, "-jar", jar, "-p", "local", "-s", "mcp", "-w", config],
    env: { ...process.env },
    stderr: "inherit",
  });
} else if (mode === "http") {
  const [url, token] = rest;
  transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: "Bearer " + token } },
  });
} else {
  expect(false, "mode is stdio or http", mode);
}

const client = new Client({ name: "derrick-node-it", version: "1.0.0" });
await client.connect(transport);
expect(client.getServerVersion().name === "derrick", "server name", client.getServerVersion());

const { tools } = await client.listTools();
const names = tools.map((t) => t.name);
for (const n of ["create_workspace", "exec", "read_file", "write_file", "edit_file", "diff", "reset", "delete_workspace"]) {
  expect(names.includes(n), "tool " + n + " listed", names);
}
const exec = tools.find((t) => t.name === "exec");
expect(exec.inputSchema.required.includes("command"), "exec requires command", exec.inputSchema);

const created = await client.callTool({ name: "create_workspace", arguments: {} });
expect(!created.isError, "create_workspace", text(created));
const ws = created.structuredContent.workspace_id;

try {
  const progress = [];
  const ran = await client.callTool(
    { name: "exec", arguments: { workspace_id: ws, command: "for i in 1 2 3; do echo node-$i; sleep 0.2; done; exit 4" } },
    undefined,
    { onprogress: (p) => progress.push(p.message), timeout: 120000 },
  );
  expect(!ran.isError, "exec is not a tool error", text(ran));
  expect(ran.structuredContent.exit_code === 4, "exit code 4", ran.structuredContent);
  expect(text(ran).includes("node-3"), "output", text(ran));
  expect(progress.some((m) => (m || "").includes("node-1")), "progress while running", progress);

  const wrote = await client.callTool({ name: "write_file", arguments: { workspace_id: ws, path: "code/app/x.txt", content: "one\ntwo\n" } });
  expect(!wrote.isError, "write_file", text(wrote));
  const edited = await client.callTool({ name: "edit_file", arguments: { workspace_id: ws, path: "code/app/x.txt", old_string: "two", new_string: "three" } });
  expect(!edited.isError && edited.structuredContent.replacements === 1, "edit_file", text(edited));
  const bad = await client.callTool({ name: "edit_file", arguments: { workspace_id: ws, path: "code/app/x.txt", old_string: "four", new_string: "x" } });
  expect(bad.isError === true && text(bad).includes("not found"), "edit_file with no match is a tool error", text(bad));
  const read = await client.callTool({ name: "read_file", arguments: { workspace_id: ws, path: "code/app/x.txt" } });
  expect(text(read) === "one\nthree\n", "read_file", text(read));

  const diff = await client.callTool({ name: "diff", arguments: { workspace_id: ws } });
  expect(!diff.isError && text(diff).includes("+three"), "diff shows the edit", text(diff));

  const reset = await client.callTool({ name: "reset", arguments: { workspace_id: ws } });
  expect(!reset.isError, "reset", text(reset));
  const gone = await client.callTool({ name: "read_file", arguments: { workspace_id: ws, path: "code/app/x.txt" } });
  expect(gone.isError === true && text(gone).includes("file_not_found"), "reset removed the file", text(gone));
} finally {
  const deleted = await client.callTool({ name: "delete_workspace", arguments: { workspace_id: ws } });
  expect(!deleted.isError, "delete_workspace", text(deleted));
}
await client.close();
console.log("AGENT LOOP OK");
