package dev.derrick.core.process;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class ProcessStartTest {
    @Test
    void fieldTwentyTwoIsReadPastACommandNameWithSpacesAndParentheses() {
        String stat = "4242 (a (weird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 12345 67 0";
        assertThat(ProcessStart.parseTicks(stat)).isEqualTo(987654L);
    }

    @Test
    void thisJvmIsTheSameProcessAsItsRecordAndNotAsAnotherStart() {
        long pid = ProcessHandle.current().pid();
        long start = ProcessStart.self();
        assertThat(start).isPositive();
        assertThat(ProcessStart.of(pid)).isEqualTo(start);
        assertThat(ProcessStart.isSameProcess(pid, start)).isTrue();
        assertThat(ProcessStart.isSameProcess(pid, start + 1)).as("same pid, another start: a reused pid").isFalse();
        assertThat(ProcessStart.isSameProcess(pid, 0)).isTrue();
    }

    @Test
    void aPidThatRunsNothingIsNoProcess() {
        assertThat(ProcessStart.isSameProcess(Integer.MAX_VALUE - 7, 0)).isFalse();
        assertThat(ProcessStart.of(Integer.MAX_VALUE - 7)).isZero();
    }
}
