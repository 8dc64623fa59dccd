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
