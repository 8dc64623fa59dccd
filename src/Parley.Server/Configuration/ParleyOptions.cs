namespace Parley.Server.Configuration;

/// <summary>All of Parley's settings, bound from the "Parley" configuration section
/// (appsettings.json, or environment variables such as <c>Parley__DataDirectory</c>).</summary>
public sealed class ParleyOptions
{
    public const string Section = "Parley";

    /// <summary>Where the SQLite database lives.</summary>
    public string DataDirectory { get; set; } = "data";

    /// <summary>Identifies this node in a cluster; defaults to a random id per process.</summary>
    public string? NodeId { get; set; }

    public AuthOptions Auth { get; set; } = new();
    public UsersOptions Users { get; set; } = new();
    public StorageOptions Storage { get; set; } = new();
    public BlobOptions Blobs { get; set; } = new();
    public LimitOptions Limits { get; set; } = new();
    public RealtimeOptions Realtime { get; set; } = new();
    public ClusterOptions Cluster { get; set; } = new();
    public RetentionOptions Retention { get; set; } = new();
    public Push.PushOptions Push { get; set; } = new();
    public Operations.MetricsOptions Metrics { get; set; } = new();
    public CorsOptions Cors { get; set; } = new();
    public NetworkOptions Network { get; set; } = new();
    public Operations.MemoryOptions Memory { get; set; } = new();
}

public sealed class RetentionOptions
{
    /// <summary>How often each node looks for disappearing messages whose time ran out, and for
    /// deletions a failure left under way (see <see cref="Chats.DisappearingMessages"/>).</summary>
    public int SweepSeconds { get; set; } = 5;
}

/// <summary>Browser front ends served from other origins (a dev server, a static site).</summary>
public sealed class CorsOptions
{
    /// <summary>Origins (<c>https://chat.example.com</c>) allowed to call every REST route and to
    /// open the WebSocket. Empty by default: only the server's own origin.</summary>
    public string[] AllowedOrigins { get; set; } = [];
}

public sealed class AuthOptions
{
    /// <summary>PBKDF2-HMAC-SHA256 iterations for new hashes (OWASP 2023: 600,000). Existing
    /// hashes keep the count they were made with, so lowering or raising it never locks anyone out.</summary>
    public int PasswordIterations { get; set; } = 600_000;
    public string Issuer { get; set; } = "parley";
    public string Audience { get; set; } = "parley-clients";
    public int AccessTokenMinutes { get; set; } = 60;
    public int RefreshTokenDays { get; set; } = 30;
    /// <summary>Register/login/refresh attempts allowed per client IP per minute.</summary>
    public int AttemptsPerIpPerMinute { get; set; } = 30;
    /// <summary>Per account (email or phone) per 15 minutes: failed sign-ins (successful ones do not
    /// count), and code attempts, confirmation codes sent and reset codes sent.</summary>
    public int AttemptsPerAccountPer15Minutes { get; set; } = 10;
    public int CodeMinutes { get; set; } = 10;
    public int CodeAttempts { get; set; } = 5;
    /// <summary><c>Rotate</c> (default): every refresh answers a new refresh token, and presenting
    /// a used one revokes its family. <c>Reuse</c>: as Cognito, the refresh token stays valid until it
    /// expires or its session ends (logout, reset, deletion), and refresh answers the same one.</summary>
    public RefreshTokenReuse RefreshTokenReuse { get; set; } = RefreshTokenReuse.Rotate;
    /// <summary>OIDC issuers (a Cognito user pool or any other) whose access tokens Parley accepts
    /// beside its own. A subject signing in for the first time gets a Parley account.</summary>
    public List<ExternalIssuerOptions> ExternalIssuers { get; set; } = [];
    /// <summary>Random text (at least 32 characters) from which the key is made that seals the
    /// secrets the server must read back (its signing and VAPID keys, TOTP secrets) before they are
    /// stored; see <see cref="Auth.SecretSeal"/>. Every node of a cluster needs the same one. Empty:
    /// they are stored as they are.</summary>
    public string? SecretsKey { get; set; }
    /// <summary>The value <see cref="SecretsKey"/> had before it was changed: secrets sealed with it
    /// are still opened, and are sealed again with the new value (the server's own keys at start,
    /// TOTP secrets and push subscriptions by the <c>secrets seal</c> command). Remove it once that
    /// has run.</summary>
    public string? PreviousSecretsKey { get; set; }
}

public sealed class UsersOptions
{
    public const string All = "All";
    public const string Contacts = "Contacts";

    /// <summary>Whom <c>GET /users</c> lists: <c>All</c> (every account, as the replaced backends
    /// did) or <c>Contacts</c> (users who share a chat with the caller, plus an exact match on a
    /// full email address or phone number).</summary>
    public string Directory { get; set; } = All;

    public bool ContactsOnly => string.Equals(Directory, Contacts, StringComparison.OrdinalIgnoreCase);

    /// <summary>Null when the settings are valid, else the sentence that stops the server.</summary>
    public string? Problem() =>
        string.Equals(Directory, All, StringComparison.OrdinalIgnoreCase) || ContactsOnly
            ? null
            : $"Parley:Users:Directory must be {All} or {Contacts}, not '{Directory}'.";
}

/// <summary>One external issuer. Its keys come from its discovery document
/// (<c>{Issuer}/.well-known/openid-configuration</c>) and JWKS, cached, fetched again for an unknown key id.</summary>
public sealed class ExternalIssuerOptions
{
    /// <summary>The exact <c>iss</c> of its tokens, e.g. <c>https://cognito-idp.{region}.amazonaws.com/{userPoolId}</c>.</summary>
    public string Issuer { get; set; } = "";
    /// <summary>Accepted <c>aud</c> values of access tokens (an API audience of a generic issuer).</summary>
    public List<string> Audiences { get; set; } = [];
    /// <summary>Accepted app client ids: the <c>client_id</c> of Cognito access tokens and the <c>aud</c> of id tokens.</summary>
    public List<string> ClientIds { get; set; } = [];
    /// <summary>The claim that identifies the user at the issuer (stable and unique there).</summary>
    public string UserIdClaim { get; set; } = "sub";
    /// <summary>Where the discovery document is when not at the usual place under <see cref="Issuer"/>.</summary>
    public string? MetadataAddress { get; set; }
    /// <summary>Refuse discovery and JWKS over plain HTTP (only a local test issuer turns this off).</summary>
    public bool RequireHttps { get; set; } = true;
    /// <summary>A token naming a key id that is not in the cached JWKS fetches the JWKS again, at
    /// most once per this many seconds, so made-up key ids cannot make Parley hammer the issuer.</summary>
    public int KeyRefreshSeconds { get; set; } = 300;
}

public enum RefreshTokenReuse { Rotate, Reuse }

public sealed class StorageOptions
{
    /// <summary><c>Sqlite</c> (default), <c>Postgres</c> or <c>DynamoDb</c>.</summary>
    public string Provider { get; set; } = "Sqlite";
    /// <summary>SQLite: <c>Normal</c> survives a process kill (the default); <c>Full</c> fsyncs every commit
    /// and also survives a power cut.</summary>
    public string Synchronous { get; set; } = "Normal";
    /// <summary>SQLite: the write-ahead log is started over once it holds this many MiB, also while
    /// writes never pause. Each start stalls the writer for a copy and two syncs (tens of
    /// milliseconds under load): a larger log starts over less often and takes more disk.</summary>
    public int LogRestartMiB { get; set; } = 256;

    public const int MaxLogRestartMiB = 4096;
    public string? ConnectionString { get; set; }
    /// <summary>PostgreSQL: writers per node, each with its own connection, queue and row of the
    /// event stream (one connection runs one statement at a time). 1 to <see cref="MaxWriters"/>.</summary>
    public int Writers { get; set; } = 2;

    public const int MaxWriters = 16;

    public DynamoDbOptions DynamoDb { get; set; } = new();
}

/// <summary>DynamoDB tables (or anything that speaks DynamoDB's API, such as dynalite). Without keys,
/// the SDK's usual credential chain applies (environment, instance role).</summary>
public sealed class DynamoDbOptions
{
    /// <summary>A local endpoint instead of AWS's, for example http://127.0.0.1:4567.</summary>
    public string? ServiceUrl { get; set; }
    /// <summary>The AWS region of the tables (also the signing region of a local endpoint).</summary>
    public string? Region { get; set; }
    /// <summary>Every table's name starts with this, so several deployments can share an account.</summary>
    public string TablePrefix { get; set; } = "Parley";
    /// <summary>Create the tables (and their indexes) on start when they are missing.</summary>
    public bool CreateTables { get; set; }
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
}

/// <summary>Where media bytes live (the database keeps only their description).</summary>
public sealed class BlobOptions
{
    /// <summary><c>Directory</c> (default: <c>blobs/</c> under the data directory) or <c>S3</c>.</summary>
    public string Provider { get; set; } = "Directory";
    public S3Options S3 { get; set; } = new();
    /// <summary>How often bytes that no media row describes are looked for and deleted (0: never).</summary>
    public int OrphanSweepSeconds { get; set; } = 3600;
    /// <summary>Bytes younger than this are never swept: an upload writes its bytes before its row.</summary>
    public int OrphanGraceSeconds { get; set; } = 3600;
}

/// <summary>An S3 bucket (or anything that speaks S3). Without keys, the SDK's usual credential
/// chain applies (environment, instance role).</summary>
public sealed class S3Options
{
    public string Bucket { get; set; } = "parley-media";
    public string? Region { get; set; }
    /// <summary>An S3-compatible endpoint instead of AWS's, for example http://127.0.0.1:4569.</summary>
    public string? ServiceUrl { get; set; }
    public bool ForcePathStyle { get; set; }
    public string? AccessKey { get; set; }
    public string? SecretKey { get; set; }
}

public sealed class LimitOptions
{
    public int MaxJsonBodyBytes { get; set; } = 64 * 1024;
    public int MaxMessageChars { get; set; } = 4096;
    public int MaxMediaBytes { get; set; } = 16 * 1024 * 1024;
    /// <summary>Messages a user may send per second (all devices together), with a burst of twice that.</summary>
    public int MessagesPerSecond { get; set; } = 20;
    /// <summary>Client frames of any kind per socket per second (a burst of twice as many is allowed).</summary>
    public int FramesPerSecond { get; set; } = 50;
    public int SocketsPerUser { get; set; } = 10;
    public int SocketsPerIp { get; set; } = 20_000;
}

public sealed class RealtimeOptions
{
    /// <summary>Browser origins allowed to open the WebSocket besides the server's own.</summary>
    public string[] AllowedOrigins { get; set; } = [];
    /// <summary>Frames queued per connection before it counts as a slow consumer and is closed.</summary>
    public int SendQueueFrames { get; set; } = 1024;
    public int KeepAliveSeconds { get; set; } = 30;
    /// <summary>How long a user stays "online" after their last socket closes (a flaky network
    /// reconnects within it without flapping presence).</summary>
    public int PresenceGraceSeconds { get; set; } = 3;
    /// <summary>Presence goes to the people a user shares a 1:1 chat or a group of at most this many
    /// members with. In bigger groups it would cost every member a frame for every other member
    /// coming and going; there, a member's <c>online</c> and <c>lastSeen</c> are read when asked.</summary>
    public int PresenceGroupLimit { get; set; } = 256;
    public int TypingSeconds { get; set; } = 6;
}

/// <summary>Several nodes sharing one store, and the bus between them.</summary>
public sealed class ClusterOptions
{
    /// <summary>The bus between nodes: <c>Postgres</c> (LISTEN/NOTIFY) or <c>Redis</c> (pub/sub).
    /// Absent: one node, nothing leaves the process.</summary>
    public string? Bus { get; set; }
    /// <summary>The Redis server(s) of the Redis bus, in StackExchange.Redis form (<c>host:6379,password=...</c>).</summary>
    public string? RedisConnection { get; set; }
    /// <summary>The database of the Postgres bus; the store's connection string when absent.</summary>
    public string? PostgresConnection { get; set; }
    /// <summary>How often a node renews its registration and its users' claims.</summary>
    public int HeartbeatSeconds { get; set; } = 2;
    /// <summary>How long those live without renewal: a node killed without notice stops
    /// counting (for routing and presence) this long after its last heartbeat.</summary>
    public int ConnectionTtlSeconds { get; set; } = 10;
}
