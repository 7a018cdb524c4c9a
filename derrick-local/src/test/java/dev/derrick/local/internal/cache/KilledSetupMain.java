package dev.derrick.local.internal.cache;

import dev.derrick.api.GitAuth;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.EvictionPolicy;
import dev.derrick.core.git.GitClient;

import java.nio.file.Path;
import java.util.Map;

/** Child JVM for the crash test: starts a create whose setup never ends, to be killed with SIGKILL. */
public final class KilledSetupMain {
    public static void main(String[] args) {
        // args: cacheDir root url token script
        GitClient git = new GitClient(Map.of("GIT_TOKEN", args[3]), new Redactor());
        LocalCache cache = new LocalCache(Path.of(args[0]), git, LocalCache.Mode.parse(args[5]), EvictionPolicy.NONE);
        WorkspaceConfig config = WorkspaceConfig.builder("crash")
                .repository(RepositoryConfig.of(args[2], "code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript(args[4]).build();
        cache.create(config, Path.of(args[1]), new BashRunner(), null);
    }
}
