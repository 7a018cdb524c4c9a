package dev.derrick.server.internal.mcp;

/** What the stdio and HTTP MCP servers share. */
final class McpServers {
    /** Told to the model at initialization. */
    static final String INSTRUCTIONS = "derrick gives you isolated workspaces: each is a directory or container with"
            + " the project's repositories checked out and its setup done. Start with create_workspace (or"
            + " list_workspaces to reuse one), then run commands with exec, read and change files with read_file,"
            + " write_file and edit_file, review your work with diff, and undo everything with reset. Every tool"
            + " takes the workspace_id. Delete the workspace when the task is done.";

    private McpServers() {
    }

    static String version() {
        String v = McpServers.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
