package dev.derrick.local;

/** {@link LocalBackgroundProcessIT} with {@code isolation=none}: background processes as host sessions. */
class LocalUnsandboxedBackgroundProcessIT extends LocalBackgroundProcessIT {
    @Override
    protected String isolation() {
        return "none";
    }
}
