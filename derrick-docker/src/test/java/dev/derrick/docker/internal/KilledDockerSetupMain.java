package dev.derrick.docker.internal;

import dev.derrick.api.GitAuth;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;

import java.util.HashMap;
import java.util.Map;

/** Child JVM for the docker crash test: a create whose setup never ends, killed with SIGKILL by the test. */
public final class KilledDockerSetupMain {
    /** Sleeps as long as the repository's SLEEP file says (the file is not part of the cache key). */
    static final String SCRIPT = "echo half > /half-done; sleep \"$(cat /code/app/SLEEP 2>/dev/null || echo 0)\"";

    public static void main(String[] args) {
        // args: cacheDir url token image
        Map<String, String> env = new HashMap<>(System.getenv());
        env.put("GIT_TOKEN", args[2]);
        DockerProvider provider = DockerProvider.open(Map.of("cache_dir", args[0]), env);
        WorkspaceConfig config = WorkspaceConfig.builder("crash").image(args[3])
                .repository(RepositoryConfig.of(args[1], "/code/app").withAuth(GitAuth.fromEnv("GIT_TOKEN")))
                .setupScript(SCRIPT).build();
        provider.create(config, new ProgressListener() {
            @Override
            public void beginTask(String title, int totalWork) {
                System.out.println("TASK " + title);
                System.out.flush();
            }
        });
    }
}
