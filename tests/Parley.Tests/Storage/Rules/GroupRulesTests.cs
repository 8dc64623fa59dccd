using Parley.Server.Storage;
using Parley.Server.Storage.Rules;

namespace Parley.Tests.Storage.Rules;

public class GroupRulesTests
{
    private static MemberRecord Member(string userId, string role, long joinedAt) =>
        new("group_1", userId, role, joinedAt, 0, 0, 0, 0, 0, 0, 0);

    private static readonly ChatRecord Group = new("group_1", true, "Team", null, "alice", 1, 0, 1);
    private static readonly ChatRecord Direct = new("chat_a_b", false, null, null, null, 1, 0, 1);

    [Fact]
    public void Only_members_act_on_a_group_and_only_admins_manage_it()
    {
        Assert.Equal(GroupOutcome.NotFound, GroupRules.CheckActor(null, null, requireAdmin: false));
        Assert.Equal(GroupOutcome.NotFound, GroupRules.CheckActor(Group, null, requireAdmin: false));
        Assert.Equal(GroupOutcome.NotFound, GroupRules.CheckActor(Direct, Member("alice", MemberRoles.Admin, 1), requireAdmin: false));
        Assert.Equal(GroupOutcome.NotAdmin, GroupRules.CheckActor(Group, Member("bob", MemberRoles.Member, 1), requireAdmin: true));
        Assert.Equal(GroupOutcome.Done, GroupRules.CheckActor(Group, Member("bob", MemberRoles.Member, 1), requireAdmin: false));
        Assert.Equal(GroupOutcome.Done, GroupRules.CheckActor(Group, Member("alice", MemberRoles.Admin, 1), requireAdmin: true));
    }

    [Fact]
    public void Leaving_needs_no_admin_but_removing_someone_else_does()
    {
        Assert.False(GroupRules.RemovalNeedsAdmin("bob", "bob"));
        Assert.True(GroupRules.RemovalNeedsAdmin("alice", "bob"));
        Assert.Equal(SystemActions.MemberLeft, GroupRules.RemovalAction("bob", "bob"));
        Assert.Equal(SystemActions.MemberRemoved, GroupRules.RemovalAction("alice", "bob"));
    }

    [Fact]
    public void New_members_are_the_requested_users_not_yet_in_the_group_each_once()
    {
        var added = GroupRules.NewMembers(["carol", "bob", "carol", "dave"], new HashSet<string> { "alice", "bob" });
        Assert.Equal(["carol", "dave"], added);
    }

    [Fact]
    public void When_the_last_admin_leaves_the_longest_standing_member_takes_over()
    {
        var leaving = Member("alice", MemberRoles.Admin, 1);
        var remaining = new[] { Member("zoe", MemberRoles.Member, 5), Member("carol", MemberRoles.Member, 3), Member("bob", MemberRoles.Member, 3) };
        Assert.Equal("bob", GroupRules.Successor(leaving, remaining)!.UserId);
        Assert.Null(GroupRules.Successor(leaving, [Member("carol", MemberRoles.Admin, 3), Member("bob", MemberRoles.Member, 2)]));
        Assert.Null(GroupRules.Successor(Member("bob", MemberRoles.Member, 2), remaining));
        Assert.Null(GroupRules.Successor(leaving, []));
    }

    [Fact]
    public void The_only_admin_cannot_step_down_and_an_unchanged_flag_changes_nothing()
    {
        var admin = Member("alice", MemberRoles.Admin, 1);
        var member = Member("bob", MemberRoles.Member, 2);
        Assert.Equal((GroupOutcome.LastAdmin, false), GroupRules.CheckAdminChange(admin, admin: false, adminCount: 1));
        Assert.Equal((GroupOutcome.Done, true), GroupRules.CheckAdminChange(admin, admin: false, adminCount: 2));
        Assert.Equal((GroupOutcome.Done, false), GroupRules.CheckAdminChange(admin, admin: true, adminCount: 1));
        Assert.Equal((GroupOutcome.Done, true), GroupRules.CheckAdminChange(member, admin: true, adminCount: 1));
        Assert.Equal((GroupOutcome.NotMember, false), GroupRules.CheckAdminChange(null, admin: true, adminCount: 1));
    }

    [Fact]
    public void Only_a_new_name_leaves_a_rename_message()
    {
        Assert.True(GroupRules.Renames(Group, "Crew"));
        Assert.False(GroupRules.Renames(Group, "Team"));
        Assert.False(GroupRules.Renames(Group, null));
    }
}
