package dev.derrick.examples;

// --8<-- [start:junit-local]
import dev.derrick.api.ExecResult;
import dev.derrick.api.Workspace;
import dev.derrick.junit.DerrickTest;
import dev.derrick.junit.DerrickWorkspace;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

@DerrickTest
class LocalWorkspaceExampleTest {
    // A fresh workspace for every test, from the local provider (the default).
    @DerrickWorkspace(config = "classpath:example-workspace.json")
    Workspace workspace;

    @Test
    void builds() {
        ExecResult build = workspace.exec("sh app/build.sh");
        assertThat(build.succeeded()).isTrue();
        assertThat(build.stdout()).contains("BUILD OK");
    }

    @Test
    void editsStayInTheirOwnWorkspace() {
        assertThat(workspace.readString("app/VERSION")).isEqualTo("v1\n"); // untouched by the other test
        workspace.writeString("app/VERSION", "v2\n");
        assertThat(workspace.exec("cat app/VERSION").stdout()).isEqualTo("v2\n");
    }

    @Test
    void aParameterGetsItsOwnWorkspaceToo(@DerrickWorkspace(config = "classpath:example-workspace.json") Workspace other) {
        assertThat(other.id()).isNotEqualTo(workspace.id());
        assertThat(other.exec("echo $CI").stdout()).isEqualTo("true\n");
    }
}
// --8<-- [end:junit-local]
