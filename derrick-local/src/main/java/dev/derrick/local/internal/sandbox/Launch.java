package dev.derrick.local.internal.sandbox;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A process to start in a {@link Sandbox}: a bash script (any size: large ones travel on stdin, not as an argument),
 * its positional arguments, a working directory as the sandbox sees it, and exactly this environment.
 *
 * @param script        bash script ({@code bash -c} semantics; {@code sh} where there is no bash)
 * @param args          {@code $1 …} of the script
 * @param workingDir    absolute sandbox path ({@code /} is the workspace root); {@code cd} happens inside the sandbox
 * @param environment   the complete environment (nothing is inherited); values over 100 KiB become shell variables of
 *                      the script (the kernel execs nothing with an environment string over 128 KiB)
 * @param keepStdinOpen whether the caller writes to {@link SandboxProcess#stdin()}; otherwise the process reads EOF
 */
public record Launch(String script, List<String> args, String workingDir, Map<String, String> environment,
                     boolean keepStdinOpen) {
    public Launch {
        Objects.requireNonNull(script, "script");
        args = List.copyOf(args == null ? List.of() : args);
        workingDir = workingDir == null || workingDir.isEmpty() ? "/" : workingDir;
        if (!workingDir.startsWith("/")) {
            throw new IllegalArgumentException("workingDir must be an absolute sandbox path, got " + workingDir);
        }
        environment = Map.copyOf(environment == null ? Map.of() : environment);
    }

    /** A script in the workspace root with this environment, reading EOF from stdin. */
    public static Launch of(String script, Map<String, String> environment) {
        return new Launch(script, List.of(), "/", environment, false);
    }

    public Launch withArgs(List<String> arguments) {
        return new Launch(script, arguments, workingDir, environment, keepStdinOpen);
    }

    public Launch inDirectory(String dir) {
        return new Launch(script, args, dir, environment, keepStdinOpen);
    }

    public Launch withStdinOpen() {
        return new Launch(script, args, workingDir, environment, true);
    }
}
