using Parley.Server.Common;
using Parley.Server.Storage;

namespace Parley.Server.Auth;

public static class AuthApi
{
    private const string WrongCredentials = "Incorrect email or password.";
    private const string WrongPhoneCredentials = "Incorrect phone number or password.";
    private const string BadCode = "The code is wrong or has expired.";

    /// <summary>How the OpenAPI document describes the sign-in answers' second form.</summary>
    internal const string SignInNote = "With two-step verification on, the answer is {mfaRequired: true, mfaToken} instead of the session; finish with POST /auth/mfa.";

    public static IEndpointRouteBuilder MapAuthApi(this IEndpointRouteBuilder routes)
    {
        var group = routes.MapGroup("/auth").WithTags("Auth").AllowAnonymous();
        group.MapPost("/register", Register).Produces<RegisterResponse>(StatusCodes.Status201Created);
        group.MapPost("/login", Login).Produces<LoginResponse>().WithDescription(SignInNote);
        group.MapPost("/refresh", Refresh).Produces<RefreshResponse>();
        group.MapPost("/logout", Logout).Produces(StatusCodes.Status204NoContent);
        group.MapPost("/sign-up", PhoneSignUp).Produces<SignUpResponse>(StatusCodes.Status201Created);
        group.MapPost("/account-confirmation", ConfirmPhone).Produces<ConfirmedAnswer>();
        group.MapPost("/resend-code", ResendCode).Produces<NoticeAnswer>(StatusCodes.Status202Accepted);
        group.MapPost("/sign-in", PhoneSignIn).Produces<LoginResponse>().WithDescription(SignInNote);
        group.MapPost("/forgot-password", ForgotPassword).Produces<NoticeAnswer>(StatusCodes.Status202Accepted);
        group.MapPost("/reset-password", ResetPassword).Produces(StatusCodes.Status204NoContent);
        routes.MapGet("/.well-known/jwks.json", (TokenService tokens) => TypedResults.Json(tokens.Jwks(), AppJson.Options)).WithTags("Auth").AllowAnonymous()
            .Produces<JsonWebKeySet>();
        return routes;
    }

    private static async Task<IResult> Register(RegisterRequest body, AuthService auth, AuthThrottle throttle, HttpContext http)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        var error = Validation.Email(body.Email) ?? PasswordPolicy.Check(body.Password) ?? Validation.Name(body.Name, "name", Validation.MaxNameLength, required: true);
        if (error is not null) return ApiError.BadRequest(error);
        var user = await auth.CreateUserAsync(body.Email, null, body.Password!, body.Name!, confirmed: true);
        if (user is null) return ApiError.Conflict("An account with this email already exists.");
        return TypedResults.Json(new RegisterResponse(user.Id, user.Email!, user.Name), AppJson.Options, statusCode: StatusCodes.Status201Created);
    }

    private static async Task<IResult> Login(LoginRequest body, AuthService auth, AuthThrottle throttle, IAccountStore store, HttpContext http,
        TwoStep twoStep, TokenService tokens)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        if (string.IsNullOrWhiteSpace(body.Email)) return ApiError.BadRequest("email is required.");
        if (body.Email.Any(LogText.IsHidden)) return ApiError.BadRequest("email must not contain control or invisible characters.");
        if (string.IsNullOrEmpty(body.Password)) return ApiError.BadRequest("password is required.");
        var email = Validation.NormalizeEmail(body.Email);
        if (await throttle.BeginSignInAsync(email) is { } lockedFor) return ApiError.TooManyRequests(lockedFor);
        var user = await auth.CheckPasswordAsync(await store.FindUserByEmailAsync(email), body.Password);
        if (user is null) return ApiError.Unauthorized(WrongCredentials);
        await throttle.SucceededAsync(email);
        return await TwoStepApi.SignedInAsync(user, auth, twoStep, tokens);
    }

    private static async Task<IResult> Refresh(RefreshRequest body, AuthService auth, AuthThrottle throttle, HttpContext http)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        if (string.IsNullOrWhiteSpace(body.RefreshToken)) return ApiError.BadRequest("refreshToken is required.");
        var (outcome, response) = await auth.RefreshAsync(body.RefreshToken);
        return outcome switch
        {
            RefreshOutcome.Rotated => TypedResults.Json(response!, AppJson.Options),
            RefreshOutcome.Reused => ApiError.Unauthorized("This refresh token was already used; every session it belonged to is now signed out."),
            _ => ApiError.Unauthorized("The refresh token is invalid or expired."),
        };
    }

    private static async Task<IResult> Logout(RefreshRequest body, AuthService auth)
    {
        if (string.IsNullOrWhiteSpace(body.RefreshToken)) return ApiError.BadRequest("refreshToken is required.");
        await auth.LogoutAsync(body.RefreshToken);
        return TypedResults.NoContent();
    }

    private static async Task<IResult> PhoneSignUp(PhoneSignUpRequest body, AuthService auth, AuthThrottle throttle, IAccountStore store, HttpContext http)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        var error = Validation.Phone(body.PhoneNumber) ?? PasswordPolicy.Check(body.Password) ?? Validation.Name(body.Name, "name", Validation.MaxNameLength, required: true);
        if (error is not null) return ApiError.BadRequest(error);
        var user = await auth.CreateUserAsync(null, body.PhoneNumber, body.Password!, body.Name!, confirmed: false);
        if (user is null)
        {
            // Taken. A number nobody confirmed is still free to claim: this sign-up's password
            // and name replace the earlier ones and a new code goes out, so a lost or spent code
            // never locks the number out. Whoever confirms with the code has proved they hold it.
            var existing = await store.FindUserByPhoneAsync(body.PhoneNumber!.Trim());
            if (existing is null || existing.Confirmed) return ApiError.Conflict("An account with this phone number already exists.");
            if (await throttle.TakeAccountAttemptAsync(ResendKey(existing.PhoneNumber!)) is { } resendWait) return ApiError.TooManyRequests(resendWait);
            user = await auth.ReclaimUnconfirmedAsync(existing, body.Password!, body.Name!);
        }
        await auth.SendCodeAsync(user, AuthService.ConfirmPurpose, user.PhoneNumber!);
        return TypedResults.Json(new SignUpResponse(user.Id, true), AppJson.Options, statusCode: StatusCodes.Status201Created);
    }

    private static string ResendKey(string phone) => "resend:" + phone;

    /// <summary>A new confirmation code for an unconfirmed number. The answer is the same whether or
    /// not the number has an account (and whether or not it is confirmed), so it tells nobody which
    /// numbers are registered; requests are limited per IP and per number alike.</summary>
    private static async Task<IResult> ResendCode(ResendCodeRequest body, AuthService auth, AuthThrottle throttle, IAccountStore store, HttpContext http)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        if (Validation.Phone(body.PhoneNumber) is { } error) return ApiError.BadRequest(error);
        var phone = body.PhoneNumber!.Trim();
        if (await throttle.TakeAccountAttemptAsync(ResendKey(phone)) is { } resendWait) return ApiError.TooManyRequests(resendWait);
        var user = await store.FindUserByPhoneAsync(phone);
        if (user is { Confirmed: false }) await auth.SendCodeAsync(user, AuthService.ConfirmPurpose, phone);
        return TypedResults.Json(new NoticeAnswer("If the number awaits confirmation, a new code has been sent."), AppJson.Options,
            statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> ConfirmPhone(PhoneConfirmRequest body, AuthService auth, AuthThrottle throttle, IAccountStore store, HttpContext http)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        var error = Validation.Phone(body.PhoneNumber) ?? (string.IsNullOrWhiteSpace(body.Code) ? "code is required." : null);
        if (error is not null) return ApiError.BadRequest(error);
        var phone = body.PhoneNumber!.Trim();
        if (await throttle.TakeAccountAttemptAsync("confirm:" + phone) is { } codeWait) return ApiError.TooManyRequests(codeWait);
        var user = await store.FindUserByPhoneAsync(phone);
        // A confirmed number has no code waiting: any code is answered as a spent one.
        if (user is null || user.Confirmed) return ApiError.BadRequest(BadCode);
        return await auth.CheckCodeAsync(user, AuthService.ConfirmPurpose, body.Code!) switch
        {
            CodeCheck.Accepted => await Confirmed(store, user),
            CodeCheck.TooManyAttempts => ApiError.TooManyRequests(TimeSpan.FromMinutes(10), "Too many wrong codes; ask for a new one with /auth/resend-code."),
            _ => ApiError.BadRequest(BadCode),
        };

        static async Task<IResult> Confirmed(IAccountStore store, UserRecord user)
        {
            await store.ConfirmUserAsync(user.Id);
            return TypedResults.Json(new ConfirmedAnswer(true), AppJson.Options);
        }
    }

    private static async Task<IResult> PhoneSignIn(PhoneSignInRequest body, AuthService auth, AuthThrottle throttle, IAccountStore store, HttpContext http,
        TwoStep twoStep, TokenService tokens)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        if (string.IsNullOrWhiteSpace(body.PhoneNumber)) return ApiError.BadRequest("phoneNumber is required.");
        if (string.IsNullOrEmpty(body.Password)) return ApiError.BadRequest("password is required.");
        var phone = body.PhoneNumber.Trim();
        if (await throttle.BeginSignInAsync(phone) is { } lockedFor) return ApiError.TooManyRequests(lockedFor);
        var user = await auth.CheckPasswordAsync(await store.FindUserByPhoneAsync(phone), body.Password);
        if (user is null) return ApiError.Unauthorized(WrongPhoneCredentials);
        await throttle.SucceededAsync(phone);
        if (!user.Confirmed) return ApiError.Forbidden("Confirm your phone number first: send the code to /auth/account-confirmation.");
        return await TwoStepApi.SignedInAsync(user, auth, twoStep, tokens);
    }

    private static async Task<IResult> ForgotPassword(ForgotPasswordRequest body, AuthService auth, AuthThrottle throttle, IAccountStore store, HttpContext http)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        var (user, destination, error) = await FindByEmailOrPhone(store, body.Email, body.PhoneNumber);
        if (error is not null) return ApiError.BadRequest(error);
        // Answer the same whether or not the account exists, and cap codes per account.
        // An account made from an external identity signs in there only: it gets no Parley password.
        if (user is not null && user.PasswordHash != External.ExternalAccounts.NoPassword && await throttle.TakeAccountAttemptAsync("reset:" + destination) is null)
        {
            await auth.SendCodeAsync(user, AuthService.ResetPurpose, destination!);
        }
        return TypedResults.Json(new NoticeAnswer("If the account exists, a code has been sent."), AppJson.Options, statusCode: StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> ResetPassword(ResetPasswordRequest body, AuthService auth, AuthThrottle throttle, IAccountStore store, HttpContext http)
    {
        if (await throttle.TakeIpAttemptAsync(http) is { } wait) return ApiError.TooManyRequests(wait);
        var (user, destination, error) = await FindByEmailOrPhone(store, body.Email, body.PhoneNumber);
        error ??= string.IsNullOrWhiteSpace(body.Code) ? "code is required." : PasswordPolicy.Check(body.NewPassword, "newPassword");
        if (error is not null) return ApiError.BadRequest(error);
        if (await throttle.TakeAccountAttemptAsync("code:" + destination) is { } codeWait) return ApiError.TooManyRequests(codeWait);
        if (user is null) return ApiError.BadRequest(BadCode);
        return await auth.CheckCodeAsync(user, AuthService.ResetPurpose, body.Code!) switch
        {
            CodeCheck.Accepted => await Reset(auth, throttle, user, body.NewPassword!, confirmsPhone: destination == user.PhoneNumber),
            CodeCheck.TooManyAttempts => ApiError.TooManyRequests(TimeSpan.FromMinutes(10), "Too many wrong codes; ask for a new one."),
            _ => ApiError.BadRequest(BadCode),
        };

        static async Task<IResult> Reset(AuthService auth, AuthThrottle throttle, UserRecord user, string password, bool confirmsPhone)
        {
            // A code that reached the phone proves the number as well as a confirmation code does.
            await auth.ResetPasswordAsync(user, password, confirmsPhone);
            // Someone else's wrong guesses no longer keep the owner out, with the new password.
            foreach (var account in new[] { user.Email, user.PhoneNumber }) if (account is not null) await throttle.ForgetFailuresAsync(account);
            return TypedResults.NoContent();
        }
    }

    private static async Task<(UserRecord? User, string? Destination, string? Error)> FindByEmailOrPhone(IAccountStore store, string? email, string? phone)
    {
        if (!string.IsNullOrWhiteSpace(email))
        {
            var error = Validation.Email(email);
            if (error is not null) return (null, null, error);
            var normalized = Validation.NormalizeEmail(email);
            return (await store.FindUserByEmailAsync(normalized), normalized, null);
        }
        if (!string.IsNullOrWhiteSpace(phone))
        {
            var error = Validation.Phone(phone);
            if (error is not null) return (null, null, error);
            return (await store.FindUserByPhoneAsync(phone.Trim()), phone.Trim(), null);
        }
        return (null, null, "email or phoneNumber is required.");
    }
}
