namespace Parley.Server.Auth;

public sealed record RegisterRequest(string? Email, string? Password, string? Name);
public sealed record LoginRequest(string? Email, string? Password);
public sealed record RefreshRequest(string? RefreshToken);
public sealed record PhoneSignUpRequest(string? PhoneNumber, string? Password, string? Name);
public sealed record PhoneConfirmRequest(string? PhoneNumber, string? Code);
public sealed record PhoneSignInRequest(string? PhoneNumber, string? Password);
public sealed record ResendCodeRequest(string? PhoneNumber);
public sealed record ForgotPasswordRequest(string? Email, string? PhoneNumber);
public sealed record ResetPasswordRequest(string? Email, string? PhoneNumber, string? Code, string? NewPassword);

public sealed record RegisterResponse(string UserId, string Email, string Name);
public sealed record SignUpResponse(string UserId, bool ConfirmationRequired);
public sealed record TokenUser(string Id, string? Email, string Name, string? PhoneNumber);
public sealed record LoginResponse(string AccessToken, string RefreshToken, string IdToken, int ExpiresIn, TokenUser User);
public sealed record RefreshResponse(string AccessToken, string IdToken, string RefreshToken, int ExpiresIn);
/// <summary>An answer that says the same whatever the account's state, so it reveals nothing.</summary>
public sealed record NoticeAnswer(string Message);
public sealed record ConfirmedAnswer(bool Confirmed);
public sealed record MfaStatus(bool Enabled);
/// <summary>The public half of the token signing key (RFC 7517), for verifying access and id tokens.</summary>
public sealed record JsonWebKeySet(IReadOnlyList<JsonWebKey> Keys);
public sealed record JsonWebKey(string Kty, string Crv, string Use, string Alg, string Kid, string X, string Y);
