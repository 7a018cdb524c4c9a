package dev.derrick.core;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class RedactorTest {
    @Test
    void masksRegisteredSecretsAndUrlCredentials() {
        Redactor redactor = new Redactor().add("ghp_secretvalue").add("ab");
        assertThat(redactor.redact("clone https://x-access-token:ghp_secretvalue@github.com/o/r.git failed"))
                .isEqualTo("clone https://****@github.com/o/r.git failed");
        assertThat(redactor.redact("token ghp_secretvalue leaked")).isEqualTo("token **** leaked");
        assertThat(redactor.redact("about")).as("too-short secrets are not masked").isEqualTo("about");
        assertThat(redactor.redact(null)).isNull();
        assertThat(Redactor.redactUrls("mail me@example.com")).isEqualTo("mail me@example.com");
    }
}
