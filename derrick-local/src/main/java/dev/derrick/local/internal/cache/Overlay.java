package dev.derrick.local.internal.cache;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/** Linux overlayfs mounts through {@code mount(8)}: a read-only snapshot below, a per-workspace upper layer. */
public final class Overlay {
    private static final Logger LOG = LoggerFactory.getLogger(Overlay.class);

    private Overlay() {
    }

    /** Whether overlay mounts can be tried here: Linux, root, overlay in /proc/filesystems. */
    static boolean possible() {
        if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux")) {
            return false;
        }
        try {
            return "0".equals(run(List.of("id", "-u")).strip())
                    && Files.readString(Path.of("/proc/filesystems")).contains("overlay");
        } catch (IOException e) {
            return false;
        }
    }

    static void mount(Path lower, Path upper, Path work, Path target) throws IOException {
        for (Path p : List.of(lower, upper, work, target)) {
            String s = p.toString();
            if (s.contains(",") || s.contains(":") || s.contains("\\")) {
                throw new IOException("path not usable in an overlay mount: " + s);
            }
        }
        run(List.of("mount", "-t", "overlay", "overlay", "-o",
                "lowerdir=" + lower + ",upperdir=" + upper + ",workdir=" + work, target.toString()));
    }

    public static void unmount(Path target) {
        try {
            run(List.of("umount", target.toString()));
        } catch (IOException e) {
            LOG.debug("umount {} failed ({}); detaching lazily", target, e.getMessage());
            try {
                run(List.of("umount", "-l", target.toString()));
            } catch (IOException again) {
                LOG.warn("cannot unmount {}: {}", target, again.getMessage());
            }
        }
    }

    public static boolean isMounted(Path target) {
        try {
            String mine = target.toAbsolutePath().normalize().toString();
            for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 2 && f[1].replace("\\040", " ").equals(mine)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private static String run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(new ArrayList<>(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted: " + String.join(" ", command));
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed (" + p.exitValue() + "): " + out.strip());
        }
        return out;
    }
}
