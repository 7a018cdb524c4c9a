package dev.derrick.api.spi;

/**
 * Whether a provider can work here, and if not, why (e.g. "no Docker engine at unix:///var/run/docker.sock").
 *
 * @param available whether it can
 * @param reason    why not, or a short description of what was found
 */
public record Availability(boolean available, String reason) {
    /**
     * The provider can work here.
     *
     * @param description what was found, e.g. "Docker 27.1 at unix:///var/run/docker.sock"
     * @return an available result
     */
    public static Availability yes(String description) {
        return new Availability(true, description);
    }

    /**
     * The provider cannot work here.
     *
     * @param reason why, naming what was tried, e.g. "no Docker engine at unix:///var/run/docker.sock"
     * @return an unavailable result
     */
    public static Availability no(String reason) {
        return new Availability(false, reason);
    }
}
