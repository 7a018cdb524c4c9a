package dev.derrick.api.spi;

import dev.derrick.api.ChangeKind;
import dev.derrick.api.ChangedFile;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.RepositoryState;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The parsing half of {@link GitDiffs} (the running half is in the TCK against every provider). */
class GitDiffsTest {
    private static final String C = "0123456789abcdef0123456789abcdef01234567";

    @Test
    void rawAndNumstatGiveKindsAndBinaryMarks() {
        String out = ":100644 100644 aaa bbb M\0src/a b.txt\0:000000 100644 000 ccc A\0new\tfile\0"
                + ":100644 000000 ddd 000 D\0gone.bin\0"
                + "1\t1\tsrc/a b.txt\0" + "3\t0\tnew\tfile\0" + "-\t-\tgone.bin\0";
        assertThat(GitDiffs.files(out)).containsExactly(
                new ChangedFile("gone.bin", ChangeKind.DELETED, true),
                new ChangedFile("new\tfile", ChangeKind.ADDED, false),
                new ChangedFile("src/a b.txt", ChangeKind.MODIFIED, false));
        assertThat(GitDiffs.files("")).isEmpty();
    }

    @Test
    void sectionsPerRepositoryAndErrorsNameTheRepository() {
        String m = "\u001emark:";
        String stdout = m + "repo\n" + m + "files\n:100644 100644 a b M\0x\0" + "1\t1\tx\0\n" + m + "patch\ndiff --git a/x b/x\n"
                + "\n" + m + "end 0\n" + m + "repo\n" + m + "error\nno directory lib\n";
        List<RepositoryState> repos = List.of(new RepositoryState("code/app", "u", C, "main"),
                new RepositoryState("lib", "u", C, "main"));
        ExecResult r = new ExecResult(0, stdout, "", stdout, null, false, false);
        assertThatThrownBy(() -> GitDiffs.parse(m, r, repos)).isInstanceOf(DerrickException.class)
                .hasMessageContaining("lib").hasMessageContaining("no directory");
        var one = GitDiffs.parse(m, new ExecResult(0, stdout.substring(0, stdout.indexOf(m + "repo\n", 5)), "", "",
                null, false, false), repos.subList(0, 1));
        assertThat(one.get(0).patch()).isEqualTo("diff --git a/x b/x\n");
        assertThat(one.get(0).files()).extracting(ChangedFile::path).containsExactly("x");
    }

    @Test
    void aCommitThatIsNotAnIdIsRefusedBeforeAnythingRuns() {
        assertThatThrownBy(() -> GitDiffs.script("m", List.of(new RepositoryState("a", "u", "main; rm -rf /", null))))
                .isInstanceOf(DerrickException.class).hasMessageContaining("no commit id");
    }

    @Test
    void pathsAreQuotedForTheShell() {
        String script = GitDiffs.script("m", List.of(new RepositoryState("code/it's $(x)", "u", C, null)));
        assertThat(script).contains("one 'code/it'\\''s $(x)' " + C);
    }
}
