package dev.derrick.api.spi;

/**
 * Whether a provider can work here, and if not, why (e.g. "no Docker engine at unix:///var/run/docker.sock").
 *
 * @param available whether it can
 * @param reason    why not, or a short description of what was found
 */
public record Availability(boolean available, String reason) {
    public static Availability yes(String description) {
        return new Availability(true, description);
    }

    public static Availability no(String reason) {
        return new Availability(false, reason);
    }
}
