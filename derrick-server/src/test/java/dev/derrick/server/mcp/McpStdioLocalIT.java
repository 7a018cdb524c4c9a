package dev.derrick.server.mcp;

/** The agent loop over stdio against {@code -p local}. */
class McpStdioLocalIT extends McpStdioContract {
    @Override
    protected String provider() {
        return "local";
    }
}
