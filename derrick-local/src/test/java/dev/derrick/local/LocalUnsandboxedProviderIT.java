package dev.derrick.local;

/**
 * The TCK and the local-only tests with {@code isolation=none}: the unsandboxed path keeps working as it always did
 * (commands are plain processes of this user; the file API checks paths on the host).
 */
class LocalUnsandboxedProviderIT extends LocalProviderIT {
    @Override
    protected String isolation() {
        return "none";
    }
}
