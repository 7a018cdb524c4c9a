package dev.derrick.core.process;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

class OwnerIdTest {
    private Process sleep;

    @AfterEach
    void killSleep() {
        if (sleep != null) {
            sleep.destroyForcibly();
        }
    }

    private OwnerId startSleep() throws Exception {
        sleep = new ProcessBuilder("sleep", "300").start();
        long ticks = 0;
        for (int i = 0; i < 100 && ticks == 0; i++) {
            ticks = ProcessStart.of(sleep.pid());
        }
        assertThat(ticks).isPositive();
        OwnerId me = OwnerId.current();
        return new OwnerId(sleep.pid(), ticks, me.bootId(), me.host());
    }

    @Test
    void thisProcessIsAliveAndCurrent() {
        OwnerId me = OwnerId.current();
        assertThat(me.pid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(me.startTicks()).isPositive();
        assertThat(me.bootId()).isNotEmpty();
        assertThat(me.host()).isNotEmpty();
        assertThat(me.isAlive()).isTrue();
        assertThat(me.isCurrent()).isTrue();
        assertThat(OwnerId.parse(me.text())).contains(me);
        assertThat(OwnerId.isAlive(me.text())).isTrue();
    }

    @Test
    void aRunningProcessIsAliveUntilItIsKilled() throws Exception {
        OwnerId owner = startSleep();
        assertThat(owner.isAlive()).isTrue();
        assertThat(owner.isCurrent()).isFalse();
        assertThat(OwnerId.isAlive(owner.text())).isTrue();

        sleep.destroyForcibly();
        assertThat(sleep.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(owner.isAlive()).as("killed and reaped: no process has that pid").isFalse();
        assertThat(OwnerId.isAlive(owner.text())).isFalse();
        assertThat(OwnerId.ofPid(owner.pid()).isAlive()).as("an old bare-pid record of it").isFalse();
    }

    @Test
    void aReusedPidIsAnotherProcess() throws Exception {
        OwnerId owner = startSleep();
        OwnerId earlier = new OwnerId(owner.pid(), owner.startTicks() - 1, owner.bootId(), owner.host());
        assertThat(earlier.isAlive()).as("same pid, another start: the owner is gone, its pid reused").isFalse();
        OwnerId meEarlier = new OwnerId(ProcessHandle.current().pid(), OwnerId.current().startTicks() + 1,
                owner.bootId(), owner.host());
        assertThat(meEarlier.isAlive()).isFalse();
        assertThat(meEarlier.isCurrent()).isFalse();
        assertThat(new OwnerId(owner.pid(), 0, "", "").isAlive()).as("start unknown: the pid alone decides").isTrue();
    }

    @Test
    void anotherBootIsDeadEvenWhenThePidRuns() throws Exception {
        OwnerId owner = startSleep();
        OwnerId beforeReboot = new OwnerId(owner.pid(), owner.startTicks(), "00000000-0000-0000-0000-000000000000",
                owner.host());
        assertThat(beforeReboot.isAlive()).isFalse();
        OwnerId me = OwnerId.current();
        assertThat(new OwnerId(me.pid(), me.startTicks(), "00000000-0000-0000-0000-000000000000", me.host()).isAlive())
                .isFalse();
    }

    @Test
    void anOwnerOnAnotherHostIsNeverJudgedDead() throws Exception {
        OwnerId owner = startSleep();
        sleep.destroyForcibly();
        assertThat(sleep.waitFor(10, TimeUnit.SECONDS)).isTrue();
        OwnerId elsewhere = new OwnerId(owner.pid(), owner.startTicks(), "00000000-0000-0000-0000-000000000000",
                "some-other-host");
        assertThat(elsewhere.isAlive()).as("its pid means nothing here, even with another boot id").isTrue();
        assertThat(OwnerId.isAlive(elsewhere.text())).isTrue();
    }

    @Test
    void parsesTheTextFormAndTheFormsOlderVersionsWrote() {
        assertThat(OwnerId.parse("pid=4242,start=987654,boot=0f3e-aa,host=build-1.example"))
                .contains(new OwnerId(4242, 987654, "0f3e-aa", "build-1.example"));
        assertThat(OwnerId.parse("pid=4242,start=7,boot=b,host=h,pidns=123")).as("a field of a later version")
                .contains(new OwnerId(4242, 7, "b", "h"));
        assertThat(OwnerId.parse("4242")).contains(OwnerId.ofPid(4242));
        assertThat(OwnerId.parse("4242\n")).contains(OwnerId.ofPid(4242));
        assertThat(OwnerId.parse("4242 987654 ticks")).contains(new OwnerId(4242, 987654, "", ""));
        assertThat(OwnerId.parse("4242 1700000000000")).as("wall-clock millis tell nothing").contains(OwnerId.ofPid(4242));
        assertThat(OwnerId.parse("garbage")).isEmpty();
        assertThat(OwnerId.parse("pid=x")).isEmpty();
        assertThat(OwnerId.parse("")).isEmpty();
        assertThat(OwnerId.isAlive("garbage")).as("unreadable: left alone").isTrue();
        assertThat(OwnerId.isAlive("")).as("no owner").isFalse();
        assertThat(new OwnerId(1, 2, "a b", "h,x").text()).isEqualTo("pid=1,start=2,boot=,host=");
    }
}
