package dev.derrick.api;

import java.util.List;

/** No provider of the requested name is on the class path. The message lists the names that are. */
public class ProviderNotFoundException extends DerrickException {
    private static final long serialVersionUID = 1L;
    private final String requested;
    private final List<String> available;

    /**
     * @param requested the name asked for
     * @param available the names that are on the class path
     */
    public ProviderNotFoundException(String requested, List<String> available) {
        super("no workspace provider named '" + requested + "'"
                + dev.derrick.api.spi.DidYouMean.hint(requested, available) + "; available: "
                + (available.isEmpty() ? "(none on the class path)" : String.join(", ", available)));
        this.requested = requested;
        this.available = List.copyOf(available);
    }

    /** The name that was asked for. */
    public String requested() {
        return requested;
    }

    /** The names that are available, sorted. */
    public List<String> available() {
        return available;
    }
}
