package dev.derrick.core.wire;

import dev.derrick.api.CheckpointNotFoundException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileEntry;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.WorkspaceBusyException;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceNotFoundException;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WireTest {
    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void readsTheOriginalCmdBody() {
        ExecRequest r = Wire.read(utf8("{\"cmd\":\"ls\",\"working_dir\":\"code\",\"env\":{\"A\":\"1\"},\"timeout\":2.5}"),
                Wire.CmdBody.class, "cmd request").toRequest();
        assertThat(r.command()).isEqualTo("ls");
        assertThat(r.workingDir()).isEqualTo("code");
        assertThat(r.env()).containsEntry("A", "1");
        assertThat(r.timeout()).isEqualTo(Duration.ofMillis(2500));
        assertThat(Wire.CmdBody.from(r).toRequest()).isEqualTo(r);
    }

    @Test
    void badBodiesNameWhatIsWrong() {
        assertThatThrownBy(() -> Wire.read(utf8("{\n  \"cmd\": ls\n}"), Wire.CmdBody.class, "cmd request"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("malformed JSON at line 2, column");
        assertThatThrownBy(() -> Wire.read(utf8("{\"command\":\"ls\"}"), Wire.CmdBody.class, "cmd request"))
                .hasMessageContaining("unknown field 'command'").hasMessageContaining("known fields: background, cmd, env, timeout, working_dir");
        assertThatThrownBy(() -> Wire.read(utf8("{}"), Wire.CmdBody.class, "cmd request").toRequest())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("'cmd'");
        assertThatThrownBy(() -> Wire.read(utf8("{\"cmd\":\"ls\",\"timeout\":-1}"), Wire.CmdBody.class, "cmd request").toRequest())
                .hasMessageContaining("timeout");
        assertThatThrownBy(() -> Wire.read(utf8("{\"cmd\":[1]}"), Wire.CmdBody.class, "cmd request"))
                .hasMessageContaining("field 'cmd' has the wrong type");
    }

    @Test
    void emptyBodyReadsAsEmptyObject() {
        Wire.CreateBody body = Wire.read(new byte[0], Wire.CreateBody.class, "create request");
        WorkspaceConfig fallback = WorkspaceConfig.builder("x").build();
        assertThat(body.configOr(fallback)).isEqualTo(fallback);
        assertThatThrownBy(() -> body.configOr(null)).hasMessageContaining("needs a 'config'");
    }

    @Test
    void createBodyCarriesAConfigAndEnv() {
        Wire.CreateBody body = Wire.read(utf8("{\"env\":{\"B\":\"2\"},\"config\":{\"name\":\"n\",\"setup_script\":\"true\"}}"),
                Wire.CreateBody.class, "create request");
        WorkspaceConfig config = body.configOr(null);
        assertThat(config.name()).isEqualTo("n");
        assertThat(config.env()).containsEntry("B", "2");
        Wire.CreateBody again = Wire.read(Wire.write(Wire.CreateBody.of(config, Map.of())), Wire.CreateBody.class, "x");
        assertThat(again.configOr(null)).isEqualTo(config);
        assertThatThrownBy(() -> Wire.read(utf8("{\"config\":{\"name\":\"n\",\"setup\":\"x\"}}"), Wire.CreateBody.class, "c")
                .configOr(null)).hasMessageContaining("unknown field 'setup'");
    }

    @Test
    void writeFileAcceptsBase64WithLineBreaksAndResolvesPaths() {
        byte[] bytes = new byte[200];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) (i * 7);
        }
        String ruby = Base64.getMimeEncoder(60, new byte[] {'\n'}).encodeToString(bytes) + "\n";
        Wire.WriteFileBody w = Wire.read(utf8("{\"path\":\"a.bin\",\"working_dir\":\"d\",\"content\":"
                + "\"" + ruby.replace("\n", "\\n") + "\"}"), Wire.WriteFileBody.class, "write_file request");
        assertThat(w.content()).isEqualTo(bytes);
        assertThat(w.resolvedPath()).isEqualTo("d/a.bin");
        assertThat(Wire.resolve("/tmp/x", "d")).isEqualTo("/tmp/x");
        assertThat(new String(Wire.write(new Wire.WriteFileBody("p", utf8("hi"), null)), StandardCharsets.UTF_8))
                .isEqualTo("{\"path\":\"p\",\"content\":\"aGk=\"}");
    }

    @Test
    void resultsKeepTheOriginalFieldNames() {
        ExecResult result = new ExecResult(2, "", "ls: x: No such file or directory\n", "ls: x: No such file or directory\n",
                Duration.ofMillis(12), false, false);
        String json = new String(Wire.write(Wire.CmdResult.from(result)), StandardCharsets.UTF_8);
        assertThat(json).contains("\"output\":", "\"exit_code\":2", "\"timed_out\":false", "\"duration_ms\":12", "\"truncated\":false");
        assertThat(Wire.read(utf8(json), Wire.CmdResult.class, "r").toResult()).isEqualTo(result);
    }

    @Test
    void workspaceDetailsCarryEachRepositorysNameAndFreshness() {
        dev.derrick.api.RepositoryState stale = new dev.derrick.api.RepositoryState("code/app", "https://h/a.git",
                "4ce0db2b5268aaaaaaaaaaaaaaaaaaaaaaaaaaaa", "main", "app", "076d97db0f5abbbbbbbbbbbbbbbbbbbbbbbbbbbb", true, "dirty");
        dev.derrick.api.WorkspaceInfo info = new dev.derrick.api.WorkspaceInfo("local-0123456789ab", "local", "demo", "/w",
                java.time.Instant.parse("2026-12-02T08:00:00Z"), List.of(stale), null);
        String json = new String(Wire.write(Wire.WorkspaceInfoBody.from(info)), StandardCharsets.UTF_8);
        assertThat(json).contains("\"name\":\"app\"", "\"remote_commit\":\"076d97db0f5a", "\"behind\":true",
                "\"status\":\"dirty\"");
        assertThat(Wire.read(utf8(json), Wire.WorkspaceInfoBody.class, "info").toInfo()).isEqualTo(info);
        // What a server from before these fields sends still reads: not behind, nothing known.
        String old = "{\"id\":\"x\",\"repositories\":[{\"path\":\"code/app\",\"commit\":\"c0ffee\"}]}";
        assertThat(Wire.read(utf8(old), Wire.WorkspaceInfoBody.class, "info").toInfo().repositories()).singleElement()
                .satisfies(r -> assertThat(r.behind()).isFalse());

        dev.derrick.api.RepositoryFetch fetch = new dev.derrick.api.RepositoryFetch("code/app", "a", "a", false, "dirty", "b");
        String reply = new String(Wire.write(Wire.FetchReply.from(List.of(fetch))), StandardCharsets.UTF_8);
        assertThat(reply).contains("\"remote\":\"b\"");
        assertThat(Wire.read(utf8(reply), Wire.FetchReply.class, "fetch").toFetches()).containsExactly(fetch);
        assertThat(fetch.behind()).isTrue();
    }

    @Test
    void errorsMapToStatusesAndBack() {
        assertThat(WireError.from(new InvalidConfigException("bad"), null).status()).isEqualTo(400);
        assertThat(WireError.from(new WorkspaceNotFoundException("w"), null).status()).isEqualTo(404);
        assertThat(WireError.from(new WorkspaceBusyException("busy"), null).status()).isEqualTo(409);
        assertThat(WireError.from(new OperationNotSupportedException("no"), null).status()).isEqualTo(501);
        WireError setup = WireError.from(new SetupFailedException("setup script exited with 3", 3, "token=abcd1234 boom"),
                s -> s.replace("abcd1234", "****"));
        assertThat(setup.status()).isEqualTo(422);
        assertThat(new String(setup.toJson(), StandardCharsets.UTF_8))
                .contains("\"error\":\"setup_failed\"", "\"exit_code\":3", "token=**** boom").doesNotContain("abcd1234");
        WireError parsed = new WireError(422, Wire.read(setup.toJson(), WireError.Body.class, "error"));
        assertThat(parsed.toException()).isInstanceOf(SetupFailedException.class)
                .satisfies(e -> assertThat(((SetupFailedException) e).exitCode()).isEqualTo(3));
        WireError internal = WireError.from(new NullPointerException("x"), null);
        assertThat(internal.status()).isEqualTo(500);
        assertThat(internal.body().message()).contains("NullPointerException");
    }

    @Test
    void listFilesCheckpointAndRestoreBodies() {
        assertThat(Wire.read(utf8("{}"), Wire.ListFilesBody.class, "list_files request").resolvedPath()).isEmpty();
        assertThat(Wire.read(utf8("{\"path\": \"src\", \"working_dir\": \"code/app\"}"), Wire.ListFilesBody.class,
                "list_files request").resolvedPath()).isEqualTo("code/app/src");
        assertThat(Wire.read(utf8("{\"working_dir\": \"code\"}"), Wire.ListFilesBody.class, "list_files request")
                .resolvedPath()).isEqualTo("code");
        byte[] list = Wire.write(Wire.FileList.from(List.of(new FileEntry("a.txt", "d/a.txt", false, 3))));
        assertThat(new String(list, StandardCharsets.UTF_8))
                .isEqualTo("{\"entries\":[{\"name\":\"a.txt\",\"path\":\"d/a.txt\",\"directory\":false,\"size\":3}]}");
        assertThat(Wire.read(list, Wire.FileList.class, "reply").toEntries())
                .containsExactly(new FileEntry("a.txt", "d/a.txt", false, 3));
        assertThat(new String(Wire.write(new Wire.CheckpointReply("cp-1")), StandardCharsets.UTF_8))
                .isEqualTo("{\"checkpoint\":\"cp-1\"}");
        assertThat(Wire.read(utf8("{\"checkpoint\": \"cp-1\"}"), Wire.RestoreBody.class, "restore request")
                .checkpointId()).isEqualTo("cp-1");
        assertThatThrownBy(() -> Wire.read(utf8("{}"), Wire.RestoreBody.class, "restore request").checkpointId())
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("'checkpoint'");
        assertThatThrownBy(() -> Wire.read(utf8("{\"id\": \"cp\"}"), Wire.RestoreBody.class, "restore request"))
                .isInstanceOf(InvalidConfigException.class).hasMessageContaining("'id'");
    }

    @Test
    void stdinOfAnEndedProcessIsAConflictThatSurvivesTheWire() {
        WireError ended = WireError.from(new dev.derrick.api.ProcessStdinException("process p1 has ended (exit code 0)"), null);
        assertThat(ended.status()).isEqualTo(409);
        assertThat(ended.body().error()).isEqualTo("stdin_unavailable");
        assertThat(new WireError(409, Wire.read(ended.toJson(), WireError.Body.class, "error")).toException())
                .isInstanceOf(dev.derrick.api.ProcessStdinException.class).hasMessageContaining("p1 has ended");
    }

    @Test
    void checkpointAndGitAuthenticationErrorsSurviveTheWire() {
        WireError missing = WireError.from(new CheckpointNotFoundException("cp-9", "no checkpoint 'cp-9'"), null);
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.body().error()).isEqualTo("checkpoint_not_found");
        assertThat(new WireError(404, Wire.read(missing.toJson(), WireError.Body.class, "error")).toException())
                .isInstanceOf(CheckpointNotFoundException.class).hasMessageContaining("cp-9");

        WireError auth = WireError.from(new GitOperationException("authentication failed", true, null), null);
        assertThat(new String(auth.toJson(), StandardCharsets.UTF_8)).contains("\"authentication_failed\":true");
        assertThat(new WireError(502, Wire.read(auth.toJson(), WireError.Body.class, "error")).toException())
                .isInstanceOfSatisfying(GitOperationException.class, e -> assertThat(e.authenticationFailed()).isTrue());
        WireError other = WireError.from(new GitOperationException("repository not found", false, null), null);
        assertThat(new String(other.toJson(), StandardCharsets.UTF_8)).doesNotContain("authentication_failed");
        assertThat(new WireError(502, Wire.read(other.toJson(), WireError.Body.class, "error")).toException())
                .isInstanceOfSatisfying(GitOperationException.class, e -> assertThat(e.authenticationFailed()).isFalse());
    }
}
