package dev.derrick.server;

import dev.derrick.core.protocol.Operation;
import dev.derrick.server.internal.http.Route;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;

/** Request bodies for the fuzzer: valid seeds per operation, then random and mutated forms of them. */
final class Mutations {
    private static final Map<Operation, String[]> SEEDS = Map.ofEntries(
            Map.entry(Operation.CREATE, new String[] {"{}", "{\"env\":{\"A\":\"b\"}}",
                    "{\"config\":{\"name\":\"f\",\"setup_script\":\"echo s > s.txt\",\"env\":{\"X\":\"y\"}}}"}),
            Map.entry(Operation.CMD, new String[] {"{\"cmd\":\"echo fuzz\",\"working_dir\":\"\",\"env\":{\"K\":\"v\"},\"timeout\":5}"}),
            Map.entry(Operation.CMD_WITH_OUTPUT, new String[] {"{\"cmd\":\"printf x\",\"timeout\":2.5}", "{\"cmd\":\"true\"}"}),
            Map.entry(Operation.WRITE_FILE, new String[] {"{\"path\":\"f/a.txt\",\"content\":\"aGVsbG8=\",\"working_dir\":\"d\"}"}),
            Map.entry(Operation.READ_FILE, new String[] {"{\"path\":\"setup.txt\"}", "{\"path\":\"a.txt\",\"working_dir\":\"d/f\"}"}),
            Map.entry(Operation.LIST_FILES, new String[] {"{\"path\":\"\"}", "{\"path\":\"d\",\"working_dir\":\"\"}"}),
            Map.entry(Operation.RESTORE, new String[] {"{\"checkpoint\":\"cp-1\"}"}),
            Map.entry(Operation.STAT, new String[] {"{\"path\":\"setup.txt\"}"}),
            Map.entry(Operation.LIST_RECURSIVE, new String[] {"{\"path\":\"\",\"max_depth\":3,\"max_entries\":100}"}),
            Map.entry(Operation.DELETE_FILE, new String[] {"{\"path\":\"d/f/a.txt\",\"recursive\":false}"}),
            Map.entry(Operation.MOVE_FILE, new String[] {"{\"from\":\"d/f/a.txt\",\"to\":\"d/g.txt\"}"}),
            Map.entry(Operation.MKDIR, new String[] {"{\"path\":\"m/n\"}"}),
            Map.entry(Operation.EDIT_FILE, new String[] {"{\"path\":\"d/g.txt\",\"old_string\":\"hello\",\"new_string\":\"bye\"}"}),
            Map.entry(Operation.PROCESS_OUTPUT, new String[] {"{\"offset\":0,\"wait\":0.1}"}),
            Map.entry(Operation.PROCESS_STDIN, new String[] {"{\"text\":\"x\\n\",\"close\":true}", "{\"data\":\"eA==\"}"}),
            Map.entry(Operation.PROCESS_WAIT, new String[] {"{\"timeout\":1}"}));
    private static final String[] ATOMS = {"null", "true", "false", "0", "-1", "1e308", "-1e308", "9223372036854775808",
            "1e-400", "0.5", "\"\"", "\"x\"", "[]", "{}", "[1,2]", "{\"a\":1}", "\"\\u0000\"", "\"../../etc/passwd\"",
            "\"/\"", "\"" + "n".repeat(300) + "\"", "NaN", "\"\\ud800\""};

    private Mutations() {
    }

    static String garbageId(Random r) {
        String[] ids = {"nope", "..", "%2e%2e", "%00", "a%2Fb", "x".repeat(300), "%C0%AF", "%ff", "%27%20or%201%3D1",
                "%7Bid%7D", "local-000000000000", "%0A"};
        return ids[r.nextInt(ids.length)];
    }

    /** A body for {@code route}: a seed, mutated one of a dozen ways. */
    static byte[] body(Random r, Route route) {
        String[] seeds = route.operation() == null ? null : SEEDS.get(route.operation());
        String seed = seeds == null ? "{}" : seeds[r.nextInt(seeds.length)];
        switch (r.nextInt(13)) {
            case 0:
                return randomBytes(r, r.nextInt(200));
            case 1:
                return utf8(randomJson(r, 3));
            case 2:
                return utf8(replaceAValue(r, seed));
            case 3:
                return flip(r, utf8(seed));
            case 4:
                return utf8(seed.substring(0, r.nextInt(seed.length() + 1)));
            case 5:
                return utf8(seed + new String[] {" x", "}", "{}", "\u0000", " // c", "\n[1]"}[r.nextInt(6)]);
            case 6:
                return utf8(r.nextBoolean() ? "[".repeat(5000) : "{\"a\":".repeat(3000));
            case 7:
                return utf8(seed.replaceFirst("\\{", "{\"unknown_" + r.nextInt(100) + "\":" + ATOMS[r.nextInt(ATOMS.length)] + ","));
            case 8: {
                byte[] bad = {(byte) 0xC0, (byte) 0xAF, (byte) 0xFF, (byte) 0xED, (byte) 0xA0, (byte) 0x80, (byte) 0xE0, (byte) 0x80};
                byte[] s = utf8(seed);
                int at = seed.indexOf('"', 2) > 0 ? seed.indexOf('"', 2) + 1 : 0;
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                out.write(s, 0, Math.min(at, s.length));
                out.write(bad, 0, 1 + r.nextInt(bad.length));
                out.write(s, Math.min(at, s.length), s.length - Math.min(at, s.length));
                return out.toByteArray();
            }
            case 9:
                return utf8(seed.replaceFirst(":\"[^\"]*\"", ":\"" + "\\u0000\\u001f\\t\\\\\\\"".repeat(1 + r.nextInt(3)) + "\""));
            case 10:
                return utf8(seed.replaceFirst(":\"[^\"]*\"", ":\"" + "A".repeat(100_000 + r.nextInt(100_000)) + "\""));
            case 11:
                return new byte[0];
            default:
                return utf8(seed);
        }
    }

    private static String replaceAValue(Random r, String seed) {
        // the value after the n-th colon, up to the next comma or closing brace at the same level (good enough)
        int colons = (int) seed.chars().filter(c -> c == ':').count();
        if (colons == 0) {
            return randomJson(r, 2);
        }
        int target = r.nextInt(colons);
        int at = -1;
        for (int i = 0; i <= target; i++) {
            at = seed.indexOf(':', at + 1);
        }
        int end = at + 1;
        int depth = 0;
        boolean inString = false;
        for (; end < seed.length(); end++) {
            char c = seed.charAt(end);
            if (c == '"' && seed.charAt(end - 1) != '\\') {
                inString = !inString;
            } else if (!inString && (c == '{' || c == '[')) {
                depth++;
            } else if (!inString && (c == '}' || c == ']')) {
                if (depth == 0) {
                    break;
                }
                depth--;
            } else if (!inString && c == ',' && depth == 0) {
                break;
            }
        }
        return seed.substring(0, at + 1) + randomJson(r, 2) + seed.substring(end);
    }

    static String randomJson(Random r, int depth) {
        int kind = depth <= 0 ? r.nextInt(3) : r.nextInt(5);
        switch (kind) {
            case 0:
                return ATOMS[r.nextInt(ATOMS.length)];
            case 1:
                return String.valueOf(r.nextLong());
            case 2:
                return "\"" + randomText(r, r.nextInt(40)) + "\"";
            case 3: {
                StringBuilder b = new StringBuilder("[");
                for (int i = r.nextInt(4); i > 0; i--) {
                    b.append(randomJson(r, depth - 1)).append(i > 1 ? "," : "");
                }
                return b.append(']').toString();
            }
            default: {
                String[] keys = {"cmd", "path", "content", "working_dir", "env", "timeout", "config", "name",
                        "checkpoint", "setup_script", "repositories", "url", "auth", "token_env", "x"};
                StringBuilder b = new StringBuilder("{");
                for (int i = r.nextInt(4); i > 0; i--) {
                    b.append('"').append(keys[r.nextInt(keys.length)]).append("\":").append(randomJson(r, depth - 1))
                            .append(i > 1 ? "," : "");
                }
                return b.append('}').toString();
            }
        }
    }

    /** Printable noise without anything a shell could turn into a long-running command name. */
    private static String randomText(Random r, int n) {
        String alphabet = "abcXYZ019 ./-_;|&$(){}<>*?~#!=%^+,:@\\\\\\\"\u00e9\u4e2d\ud83d\ude00";
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) {
            b.append(alphabet.charAt(r.nextInt(alphabet.length())));
        }
        return b.toString();
    }

    private static byte[] randomBytes(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static byte[] flip(Random r, byte[] b) {
        byte[] out = b.clone();
        for (int i = 0; i < 1 + r.nextInt(5) && out.length > 0; i++) {
            out[r.nextInt(out.length)] = (byte) r.nextInt(256);
        }
        return out;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** A short printable form of a body for a failure report. */
    static String show(byte[] body) {
        String s = new String(body, StandardCharsets.UTF_8).replaceAll("\\p{Cntrl}", "?");
        return s.length() > 160 ? s.substring(0, 160) + "…(" + body.length + " bytes)" : s;
    }
}
