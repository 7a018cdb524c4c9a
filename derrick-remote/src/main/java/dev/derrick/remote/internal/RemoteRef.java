package dev.derrick.remote.internal;

/**
 * Where a remote workspace lives.
 *
 * @param id    the workspace id as the agent knows it
 * @param agent the agent that owns it ({@code null} for a single HTTP agent)
 */
public record RemoteRef(String id, String agent) {
}
