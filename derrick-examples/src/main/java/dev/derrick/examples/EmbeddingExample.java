package dev.derrick.examples;

import dev.derrick.api.Capability;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;

import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;

/**
 * What an agent author copies: open a provider by name, create a workspace from a config file, run a build with
 * streaming output, write a file, fetch upstream changes, reset, close.
 *
 * <pre>
 * java -cp ... dev.derrick.examples.EmbeddingExample [provider] [workspace.json]
 * </pre>
 *
 * Without a config file it makes a small demo repository with the {@code git} command and uses that (no network).
 */
public final class EmbeddingExample {
    private EmbeddingExample() {
    }

    public static void main(String[] args) throws Exception {
        String provider = args.length > 0 ? args[0] : "local";
        if (args.length > 1) {
            run(provider, Path.of(args[1]), System.out);
            return;
        }
        Path config = DemoRepository.createWithConfig();
        try {
            run(provider, config, System.out);
        } finally {
            DemoRepository.delete(config.getParent());
        }
    }

    // --8<-- [start:embedding]
    static void run(String providerName, Path configFile, PrintStream out) {
        WorkspaceConfig config = WorkspaceConfig.fromFile(configFile);
        try (WorkspaceProvider provider = WorkspaceProviders.open(providerName);
             Workspace ws = provider.create(config, (task, totalWork) -> out.println("[setup] " + task))) {
            out.println("workspace " + ws.id() + " at " + ws.info().root());

            // A build, its output streamed line by line while it runs; a failure is data, not an exception.
            ExecResult build = ws.exec(ExecRequest.of("sh build.sh")
                            .withWorkingDir("code/demo")
                            .withTimeout(Duration.ofMinutes(5)),
                    (stream, chunk) -> chunk.lines().forEach(line -> out.println("[" + stream + "] " + line)));
            out.println("build exit " + build.exitCode() + " in " + build.elapsed().toMillis() + " ms");

            // The agent edits a file and looks at the result.
            ws.writeString("code/demo/NOTES.md", "touched by the agent\n");
            out.println("git status: " + ws.exec("git -C code/demo status --short").stdout().strip());

            // Pull upstream changes into the checkout (never over local edits), where the workspace can.
            if (ws.capabilities().contains(Capability.FETCH)) {
                for (RepositoryFetch f : ws.fetch()) {
                    out.println("fetch " + f.path() + ": " + f.fetchStatus());
                }
            } else {
                out.println("fetch: not supported by " + providerName);
            }

            // Back to the clean post-setup state, same id.
            if (ws.capabilities().contains(Capability.RESET)) {
                ws.reset();
                out.println("reset: NOTES.md " + (ws.listFiles("code/demo").stream()
                        .anyMatch(e -> e.name().equals("NOTES.md")) ? "still there" : "gone"));
            } else {
                out.println("reset: not supported by " + providerName);
            }
        } // closing the workspace and the provider removes everything they made
        out.println("closed");
    }
    // --8<-- [end:embedding]
}
