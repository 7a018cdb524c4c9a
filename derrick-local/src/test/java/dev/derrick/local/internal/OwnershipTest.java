package dev.derrick.local.internal;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Which {@code chown -R} complaints the hand-over to the sandbox user may ignore. */
class OwnershipTest {
    @Test
    void filesThatVanishedDuringTheWalkAreNoFailureAnythingElseIs() {
        assertThat(Ownership.onlyVanished("chown: cannot access '/w/local-1/app/.git/gc.log.lock': No such file or directory"))
                .isTrue();
        assertThat(Ownership.onlyVanished("chown: cannot access '/w/a/.git/index.lock': No such file or directory\n"
                + "chown: cannot access '/w/a/.git/gc.pid': No such file or directory\n")).isTrue();
        assertThat(Ownership.onlyVanished("chown: changing ownership of '/w/a/x': Operation not permitted")).isFalse();
        assertThat(Ownership.onlyVanished("chown: cannot access '/w/a/.git/x.lock': No such file or directory\n"
                + "chown: changing ownership of '/w/a/y': Read-only file system")).isFalse();
        assertThat(Ownership.onlyVanished("")).isFalse();
    }
}
